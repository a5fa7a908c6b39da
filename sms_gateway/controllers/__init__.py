from . import inbound, main
