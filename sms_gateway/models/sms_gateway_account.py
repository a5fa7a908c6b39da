import logging
import secrets

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..providers.base import PROVIDERS, ProviderError

_logger = logging.getLogger(__name__)

MANAGER = "sms_gateway.group_sms_manager"

# Settings handed to the connectors; every one of them is readable by SMS managers only.
CONNECTOR_CONFIG_FIELDS = ("base_url", "sender", "timeout", "username", "password", "api_key", "service_id", "space_id")


class SmsGatewayAccount(models.Model):
    _name = "sms.gateway.account"
    _description = "SMS Provider Account"
    _order = "company_id, sequence, id"

    name = fields.Char(required=True)
    provider = fields.Selection(
        [("sandbox", "Sandbox (no real SMS)")],
        required=True,
        default="sandbox",
        help="The provider that carries the SMS. The sandbox sends nothing and simulates the provider's answers.",
    )
    company_id = fields.Many2one("res.company", required=True, index=True, default=lambda self: self.env.company)
    active = fields.Boolean(default=True)
    sequence = fields.Integer(default=10, help="Priority within the company: the first active account sends.")
    sender = fields.Char(
        "Sender ID",
        help="Originator shown on the recipient's phone (max. 11 letters or a phone number), if the provider allows it.",
    )
    credits_per_segment = fields.Integer(
        "Credits per SMS segment", default=1, required=True, help="Credits charged for each 160-character segment."
    )
    # Credentials and technical settings: SMS managers only (not readable through RPC by anyone else).
    base_url = fields.Char("API base URL", groups=MANAGER, help="Leave empty for the provider's production URL.")
    username = fields.Char("Login", groups=MANAGER)
    password = fields.Char(groups=MANAGER)
    api_key = fields.Char("API key", groups=MANAGER)
    service_id = fields.Char("Service / account id", groups=MANAGER)
    space_id = fields.Char("Space id", groups=MANAGER)
    timeout = fields.Float("Timeout (s)", default=10.0, groups=MANAGER)
    max_concurrency = fields.Integer(
        "Parallel requests", default=8, help="Requests sent at once to this provider during a dispatch run."
    )
    rate_limit = fields.Float("Max requests per second", help="0 means no limit (e.g. Brevo allows 150 req/s).")
    webhook_token = fields.Char(
        groups=MANAGER, copy=False, readonly=True, default=lambda self: secrets.token_urlsafe(32)
    )
    provider_balance = fields.Float("Provider balance", readonly=True, help="Last balance reported by the provider.")
    provider_balance_date = fields.Datetime("Balance date", readonly=True)
    last_test_message = fields.Char("Last test result", readonly=True)

    _sql_constraints = [
        ("credits_per_segment_positive", "CHECK(credits_per_segment > 0)", "Credits per SMS segment must be positive."),
        ("webhook_token_unique", "UNIQUE(webhook_token)", "The webhook token must be unique."),
    ]

    @api.model
    def _get_for_company(self, company):
        """The account that sends for ``company`` now (first active one by sequence)."""
        return self.sudo().search([("company_id", "=", company.id), ("active", "=", True)], limit=1)

    def _get_connector_config(self):
        self.ensure_one()
        account = self.sudo()
        return {name: account[name] for name in CONNECTOR_CONFIG_FIELDS}

    def _get_connector(self, session=None):
        """A connector for this account; pass ``session`` to reuse one HTTP session for a dispatch run."""
        self.ensure_one()
        provider_class = PROVIDERS.get(self.provider)
        if not provider_class:
            raise UserError(_("No connector is installed for the provider '%(provider)s'.", provider=self.provider))
        return provider_class(self._get_connector_config(), session=session)

    def action_test_connection(self):
        self.ensure_one()
        connector = self._get_connector()
        try:
            message = connector.test_connection()
            balance = connector.get_balance() if connector.has_balance else None
        except ProviderError as error:
            self.last_test_message = _("Failed: %(error)s", error=error)
            return self._notify(_("Connection failed"), str(error), "danger")
        finally:
            connector.close()
        values = {"last_test_message": _("OK: %(message)s", message=message)}
        if balance is not None:
            values.update(provider_balance=balance, provider_balance_date=fields.Datetime.now())
        self.write(values)
        return self._notify(_("Connection successful"), message, "success")

    def _notify(self, title, message, kind):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"title": title, "message": message, "type": kind, "sticky": kind == "danger"},
        }
