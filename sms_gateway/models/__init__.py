from . import (
    ir_actions_server,
    mail_thread,
    res_company,
    res_config_settings,
    sms_credit_lock,
    sms_credit_move,
    sms_gateway_account,
    sms_send_batch,
    sms_sms,
    sms_sms_delivery,
    sms_sms_dispatch,
    sms_sms_rules,
)
