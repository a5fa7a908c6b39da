from . import sms_segments  # noqa: F401
