from . import sms_composer, sms_composer_federation, sms_credit_allocation
