from . import sms_composer, sms_composer_federation, sms_composer_rules, sms_credit_allocation
