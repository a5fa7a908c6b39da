{
    "name": "SMS Gateway (own provider accounts)",
    "version": "18.0.1.2.0",
    "category": "Marketing/SMS",
    "summary": "Send Odoo SMS through your own provider accounts, with per-company credits and a full history",
    "author": "sms_gateway developers",
    "website": "https://github.com/sms-gateway/sms_gateway",
    "license": "LGPL-3",
    "depends": ["sms", "contacts", "base_setup"],
    "external_dependencies": {"python": ["phonenumbers", "requests"]},
    "data": [
        "security/sms_gateway_security.xml",
        "security/ir.model.access.csv",
        "security/sms_send_batch_security.xml",
        "data/ir_cron_data.xml",
        "views/sms_gateway_account_views.xml",
        "views/sms_credit_move_views.xml",
        "views/sms_sms_views.xml",
        "views/res_config_settings_views.xml",
        "views/sms_send_batch_views.xml",
        "wizards/sms_composer_views.xml",
        "views/sms_gateway_menus.xml",
    ],
    "demo": [
        "demo/sms_gateway_demo.xml",
    ],
    "assets": {
        "web.assets_backend": [
            "sms_gateway/static/src/js/**/*",
            "sms_gateway/static/src/components/**/*",
        ],
        "web.assets_tests": [
            "sms_gateway/static/src/tours/**/*",
        ],
    },
    "installable": True,
    "application": True,
}
