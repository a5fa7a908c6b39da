from . import api, main
