from . import ir_actions_server, res_company, res_config_settings, sms_credit_move, sms_gateway_account, sms_sms
from . import sms_sms_delivery
from . import mail_thread, sms_gateway_account_lookup
from . import sms_credit_alert
from . import sms_send_batch, sms_sms_send_batch
