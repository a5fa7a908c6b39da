from . import bulk_insert, locking, sms_segments
