from odoo import api, fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    # Standard implied_group pattern: checked = every internal user is an SMS user (stock Odoo behaviour).
    group_sms_user_everyone = fields.Boolean(
        "Every internal user sends SMS", implied_group="sms_gateway.group_sms_user", group="base.group_user"
    )
    sms_restrict_sending = fields.Boolean(
        "Restrict SMS sending to SMS users",
        compute="_compute_sms_restrict_sending",
        inverse="_inverse_sms_restrict_sending",
        readonly=False,
        help="Only users of the SMS User group can send SMS (from any screen, action or automation).",
    )
    sms_low_balance_threshold = fields.Integer(related="company_id.sms_low_balance_threshold", readonly=False)
    sms_history_retention_days = fields.Integer(related="company_id.sms_history_retention_days", readonly=False)
    sms_credit_balance = fields.Integer(related="company_id.sms_credit_balance")
    sms_max_length = fields.Integer(related="company_id.sms_max_length", readonly=False)
    sms_optout_mention = fields.Char(related="company_id.sms_optout_mention", readonly=False)
    sms_replace_accents = fields.Boolean(related="company_id.sms_replace_accents", readonly=False)
    sms_forbid_admin = fields.Boolean(related="company_id.sms_forbid_admin", readonly=False)
    # Sending rules
    sms_window_enabled = fields.Boolean(related="company_id.sms_window_enabled", readonly=False)
    sms_window_start = fields.Float(related="company_id.sms_window_start", readonly=False)
    sms_window_end = fields.Float(related="company_id.sms_window_end", readonly=False)
    sms_window_days = fields.Selection(related="company_id.sms_window_days", readonly=False)
    sms_window_holidays = fields.Boolean(related="company_id.sms_window_holidays", readonly=False)
    sms_window_tz = fields.Selection(related="company_id.sms_window_tz", readonly=False)
    sms_window_scope = fields.Selection(related="company_id.sms_window_scope", readonly=False)
    sms_mass_kind = fields.Selection(related="company_id.sms_mass_kind", readonly=False)
    sms_cap_per_day = fields.Integer(related="company_id.sms_cap_per_day", readonly=False)
    sms_cap_per_week = fields.Integer(related="company_id.sms_cap_per_week", readonly=False)
    sms_pseudonymize_days = fields.Integer(related="company_id.sms_pseudonymize_days", readonly=False)
    sms_stop_keywords = fields.Char(related="company_id.sms_stop_keywords", readonly=False)
    sms_start_keywords = fields.Char(related="company_id.sms_start_keywords", readonly=False)
    sms_start_allowed = fields.Boolean(related="company_id.sms_start_allowed", readonly=False)
    sms_optout_confirm = fields.Boolean(related="company_id.sms_optout_confirm", readonly=False)
    sms_optout_confirm_text = fields.Char(related="company_id.sms_optout_confirm_text", readonly=False)
    sms_reply_window_days = fields.Integer(related="company_id.sms_reply_window_days", readonly=False)
    # federations (res_company_federation.py)
    sms_account_order = fields.Selection(related="company_id.sms_account_order", readonly=False)
    sms_user_quota = fields.Integer(related="company_id.sms_user_quota", readonly=False)
    sms_user_quota_alert = fields.Integer(related="company_id.sms_user_quota_alert", readonly=False)

    @api.depends("group_sms_user_everyone")
    def _compute_sms_restrict_sending(self):
        for settings in self:
            settings.sms_restrict_sending = not settings.group_sms_user_everyone

    def _inverse_sms_restrict_sending(self):
        for settings in self:
            settings.group_sms_user_everyone = not settings.sms_restrict_sending

    def set_values(self):
        super().set_values()
        # Un-implying a group removes it from every internal user: give it back to SMS managers.
        managers_sudo = self.env.ref("sms_gateway.group_sms_manager").sudo()
        user_group_sudo = self.env.ref("sms_gateway.group_sms_user").sudo()
        missing = managers_sudo.users.filtered(lambda user: user_group_sudo not in user.groups_id)
        if missing:
            user_group_sudo.write({"users": [fields.Command.link(user.id) for user in missing]})
