from . import sms_composer, sms_composer_rules
