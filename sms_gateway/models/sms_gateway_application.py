import secrets

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, ValidationError

# The scope of the keys of this API: Odoo's XML-RPC and ``auth="bearer"`` accept only keys without a scope (or
# the "rpc" one), so an application's key opens this API and nothing else.
API_KEY_SCOPE = "sms_gateway_api"


class SmsGatewayApplication(models.Model):
    """Another application of the organisation that sends SMS through the JSON API (``controllers/api.py``).

    It authenticates with an Odoo API key of its user, scoped to this API, shown once when generated; its
    name is the origin of its SMS in the history."""

    _name = "sms.gateway.application"
    _description = "SMS API Application"
    _order = "name, id"

    name = fields.Char(required=True, help="Shown as the origin of its SMS in the history.")
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company",
        required=True,
        default=lambda self: self.env.company,
        index=True,
        help="Company whose SMS it sends when the request names no other one of its user's companies.",
    )
    user_id = fields.Many2one(
        "res.users",
        "User",
        required=True,
        domain=[("share", "=", False)],
        help="The SMS user the application acts as: its rights and companies apply, its language is the one of "
        "the API's messages. A dedicated user per application is best.",
    )
    apikey_id = fields.Many2one("res.users.apikeys", "API key", readonly=True, ondelete="set null", copy=False)
    key_index = fields.Char(
        "Key starts with", compute="_compute_key_index", help="The first characters of the key, to recognise it."
    )
    rate_limit = fields.Integer(
        "Requests per minute", help="Requests refused beyond this number per minute (429); 0: no limit."
    )
    callback_secret = fields.Char(
        "Callback secret",
        groups="sms_gateway.group_sms_manager",
        copy=False,
        default=lambda self: secrets.token_urlsafe(32),
        help="Status callbacks are signed with it (HMAC-SHA256, header X-Sms-Gateway-Signature).",
    )
    sms_count = fields.Integer("SMS", compute="_compute_sms_count")
    # technical: the rate limit's current window, written in SQL by the API (see _api_check_rate)
    rate_minute = fields.Integer(readonly=True, copy=False, groups="base.group_system")
    rate_count = fields.Integer(readonly=True, copy=False, groups="base.group_system")

    _sql_constraints = [
        ("rate_limit_positive", "CHECK(rate_limit >= 0)", "The rate limit cannot be negative."),
    ]

    @api.depends("apikey_id")
    def _compute_key_index(self):
        # the index of a key is a column of its table, not a field of res.users.apikeys
        indexes = {}
        if self.apikey_id.ids:
            self.env.cr.execute("SELECT id, index FROM res_users_apikeys WHERE id = ANY(%s)", (self.apikey_id.ids,))
            indexes = dict(self.env.cr.fetchall())
        for application in self:
            index = indexes.get(application.apikey_id.id)
            application.key_index = f"{index}…" if index else False

    def _compute_sms_count(self):
        counts = dict(
            self.env["sms.sms"]._read_group([("application_id", "in", self.ids)], ["application_id"], ["__count"])
        )
        for application in self:
            application.sms_count = counts.get(application, 0)

    @api.constrains("user_id", "company_id")
    def _check_user(self):
        for application in self:
            user = application.user_id
            if not user.has_group("sms_gateway.group_sms_user"):
                raise ValidationError(
                    _("The user of an application must be an SMS user (%(user)s is not).", user=user.name)
                )
            if application.company_id not in user.company_ids:
                raise ValidationError(
                    _(
                        "The user %(user)s cannot work for %(company)s.",
                        user=user.name,
                        company=application.company_id.name,
                    )
                )

    def write(self, vals):
        if "user_id" in vals:
            # a key belongs to its user: another user, another key
            self.filtered(lambda a: a.user_id.id != vals["user_id"])._revoke_key()
        if "active" in vals and not vals["active"]:
            self._revoke_key()
        return super().write(vals)

    def unlink(self):
        self._revoke_key()
        return super().unlink()

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def _check_manager(self):
        if not self.env.user.has_group("sms_gateway.group_sms_manager"):
            raise AccessError(_("Only SMS managers can manage the keys of applications."))

    def action_generate_key(self):
        """A new key (the previous one stops working at once), shown once in Odoo's own dialog."""
        self.ensure_one()
        self._check_manager()
        self.check_access("write")
        self._revoke_key()
        # sudo: a persistent key, for a user who is not the manager
        key = (
            self.env["res.users.apikeys"]
            .with_user(self.user_id)
            .sudo()
            ._generate(API_KEY_SCOPE, _("SMS API: %(application)s", application=self.name), False)
        )
        self.env.cr.execute(
            "SELECT id FROM res_users_apikeys WHERE user_id = %s AND scope = %s AND index = %s ORDER BY id DESC LIMIT 1",
            (self.user_id.id, API_KEY_SCOPE, key[:8]),
        )
        self.sudo().apikey_id = self.env.cr.fetchone()[0]
        return {
            "type": "ir.actions.act_window",
            "res_model": "res.users.apikeys.show",
            "name": _("API key of %(application)s", application=self.name),
            "views": [(False, "form")],
            "target": "new",
            "context": {"default_key": key},
        }

    def action_revoke_key(self):
        self._check_manager()
        self.check_access("write")
        self._revoke_key()

    def action_view_sms(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("sms_gateway.sms_sms_action_history")
        action["domain"] = [("application_id", "=", self.id)]
        action["context"] = {}
        return action

    def _revoke_key(self):
        keys = self.sudo().apikey_id
        if keys:
            keys.unlink()

    # ------------------------------------------------------------------
    # Hooks for the API
    # ------------------------------------------------------------------
    def _api_quota_left(self, company):
        """SMS units the application may still send for ``company`` under its quotas (the company's on its
        structure's pool, its user's monthly one), or None when no quota applies."""
        self.ensure_one()
        return company._sms_quota_left(self.user_id)
