from . import api, inbound, main
