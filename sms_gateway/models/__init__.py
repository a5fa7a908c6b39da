from . import res_company, sms_gateway_account, sms_credit_move, sms_sms, res_config_settings, ir_actions_server
