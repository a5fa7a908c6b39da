from . import locking, sms_segments
