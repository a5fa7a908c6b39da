# ruff: noqa: I001  (order matters: a model is defined before the files that extend it)
from . import res_company, sms_credit_move, sms_gateway_account
from . import sms_sms, sms_sms_dispatch, res_config_settings, ir_actions_server
from . import mail_thread, sms_gateway_account_lookup
from . import sms_sms_delivery
from . import sms_credit_alert
from . import sms_send_batch, sms_sms_send_batch
