from . import base, sandbox
