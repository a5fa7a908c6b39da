import json
import logging
import secrets
from typing import NamedTuple

import psycopg2
import requests

from odoo import _, api, fields, models, tools
from odoo.exceptions import UserError, ValidationError

from ..providers.base import PROVIDERS, ProviderError

_logger = logging.getLogger(__name__)

MANAGER = "sms_gateway.group_sms_manager"

# Settings handed to the connectors; every one of them is readable by SMS managers only.
CONNECTOR_CONFIG_FIELDS = ("base_url", "sender", "timeout", "username", "password", "api_key", "service_id", "space_id")
# Generic credential fields, in the order the form shows them.
CREDENTIAL_FIELDS = ("username", "password", "api_key", "service_id", "space_id", "sender", "base_url")
# Provider-specific account fields, as the connectors declare them (``account_fields``).
CONNECTOR_ACCOUNT_FIELDS = sorted({name for cls in PROVIDERS.values() for name in cls.account_fields.values()})
# Real providers (every registered connector but the sandbox, the field's default), in the connectors' order,
# labelled with the connectors' ``label``.
PROVIDER_SELECTION = [
    (cls.code, cls.label)
    for cls in sorted(PROVIDERS.values(), key=lambda cls: (cls.sequence, cls.code))
    if cls.code != "sandbox"
]
WEBHOOK_ROUTE = "/sms_gateway/dlr/"
INBOUND_ROUTE = "/sms_gateway/inbound/"


class WebhookAccount(NamedTuple):
    """What a webhook request needs of the account its token names, read in one query
    (``sms.gateway.account._gateway_webhook_account``)."""

    id: int
    token: str
    provider: str
    company_id: int
    lang: str
    write_date: object


class SmsGatewayAccount(models.Model):
    _name = "sms.gateway.account"
    _description = "SMS Provider Account"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "company_id, sequence, id"

    name = fields.Char(required=True)
    provider = fields.Selection(
        [("sandbox", PROVIDERS["sandbox"].label)],
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
    share_mode = fields.Selection(
        [("none", "Not shared"), ("all", "All branches"), ("chosen", "Chosen branches")],
        "Shared with",
        default="none",
        required=True,
        help="Branches of the company without an active account of their own send through a shared account "
        "(their SMS are charged as their funding says). Its credentials stay visible to this company's SMS "
        "managers only.",
    )
    share_company_ids = fields.Many2many(
        "res.company",
        "sms_gateway_account_share_rel",
        "account_id",
        "company_id",
        "Branches",
        help="The branches this account sends for.",
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
    webhook_url = fields.Char(
        "Delivery report URL",
        compute="_compute_webhook_url",
        groups=MANAGER,
        help="Given to the provider with each SMS (or to be entered in the provider's console): the provider "
        "calls it to report the delivery of each SMS. Keep it secret: it contains this account's token.",
    )
    inbound_url = fields.Char(
        "Inbound URL",
        compute="_compute_webhook_url",
        groups=MANAGER,
        help="Entered in the provider's console as the URL of incoming messages (replies, STOP): they reach the "
        "chatter of the record the SMS was sent from, or the SMS Inbox. Keep it secret: it contains this "
        "account's token.",
    )
    has_delivery_reports = fields.Boolean(compute="_compute_provider_capabilities")
    has_inbound = fields.Boolean("Forwards replies", compute="_compute_provider_capabilities")
    has_balance = fields.Boolean(compute="_compute_provider_capabilities")
    # Provider-specific settings (manager only).
    generic_method = fields.Selection([("GET", "GET"), ("POST", "POST")], "HTTP method", default="POST", groups=MANAGER)
    generic_body_format = fields.Selection(
        [("query", "Query string"), ("form", "Form (x-www-form-urlencoded)"), ("json", "JSON")],
        "Body format",
        default="form",
        groups=MANAGER,
        help="A GET call only sends its parameters in the query string.",
    )
    generic_params = fields.Text(
        "Parameters (JSON)",
        groups=MANAGER,
        default='{"to": "{to}", "text": "{message}", "sender": "{sender}"}',
        help="JSON object of the parameters sent; placeholders: {to} (E.164), {to_digits}, {message}, {sender}, "
        "{ref}, {unicode} (1/0), {username}, {password}, {api_key}.",
    )
    generic_auth = fields.Selection(
        [
            ("none", "None (or in the parameters)"),
            ("basic", "HTTP Basic (login / password)"),
            ("header", "API key in a header"),
            ("param", "API key as a parameter"),
        ],
        "Authentication",
        default="none",
        groups=MANAGER,
    )
    generic_auth_name = fields.Char("Header / parameter name", groups=MANAGER, help="e.g. X-Api-Key or apikey")
    generic_success_rule = fields.Char(
        "Success rule",
        default="http",
        groups=MANAGER,
        help="http (any 2xx), text:<prefix> (text:OK) or json:<path>==<value> (json:status==100).",
    )
    generic_message_id_path = fields.Char(
        "Message id path",
        groups=MANAGER,
        help="Dotted JSON path of the provider's message id (smsIds.0). Empty: our own reference is the id.",
    )
    brevo_sms_type = fields.Selection(
        [("transactional", "Transactional"), ("marketing", "Marketing")],
        "SMS type",
        default="transactional",
        groups=MANAGER,
        help="Brevo holds marketing SMS at night, on Sundays and public holidays (France).",
    )
    ovh_no_stop = fields.Boolean(
        "No STOP clause", default=True, groups=MANAGER, help="OVH: do not add the STOP mention (non-commercial SMS)."
    )
    extra_config = fields.Text(
        "Advanced settings (JSON)",
        groups=MANAGER,
        help='Other connector settings as a JSON object, e.g. {"encodage": 3} (Clever), {"campaign_name": "..."} '
        '(Link Mobility), {"mobimel_type": "premium"}, {"orange_locale": "fr_FR"}, {"lang": "fr"} (SFR).',
    )
    # Provider balance.
    provider_balance = fields.Float("Provider balance", readonly=True, help="Last balance reported by the provider.")
    provider_balance_currency = fields.Char("Balance unit", readonly=True)
    provider_balance_date = fields.Datetime("Balance date", readonly=True)
    cooldown_until = fields.Datetime(
        "Skipped until",
        readonly=True,
        copy=False,
        help="After a server or account error the account is skipped until this time and the next active account "
        "of the company (by sequence) sends.",
    )
    provider_sms_price = fields.Float(
        "Provider price of one SMS",
        default=1.0,
        digits=(16, 5),
        help="What one SMS segment costs in the provider's balance unit: 1 for providers counting in credits, "
        "the price per SMS for providers with a money balance (Twilio, Vonage). Used to compare the provider's "
        "balance with the company's SMS credit.",
    )
    reinvoice_unit_price = fields.Float(
        "Re-invoicing price of one SMS unit",
        digits=(16, 5),
        help="What the structure charges its members for one SMS unit sent through this account (re-invoicing "
        "report). 0: not re-invoiced.",
    )
    balance_gap_percent = fields.Float(
        "Balance gap alert (%)",
        default=20.0,
        help="SMS managers are warned when the provider's balance (in SMS) and the company's SMS credit differ "
        "by more than this percentage.",
    )
    balance_gap_warning = fields.Char("Balance gap", compute="_compute_balance_gap_warning")
    balance_gap_alerted = fields.Boolean(readonly=True, copy=False)
    # the provider's words on the credentials: for those who manage them
    last_test_message = fields.Char("Last test result", readonly=True, groups=MANAGER)

    _sql_constraints = [
        ("credits_per_segment_positive", "CHECK(credits_per_segment > 0)", "Credits per SMS segment must be positive."),
        ("webhook_token_unique", "UNIQUE(webhook_token)", "The webhook token must be unique."),
    ]

    # ------------------------------------------------------------------
    # CRUD: the cache of the companies that send through the gateway follows the accounts
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        self.env.registry.clear_cache()
        return super().create(vals_list)

    def write(self, vals):
        if {"active", "company_id", "share_mode", "share_company_ids"} & set(vals):
            self.env.registry.clear_cache()
        self._gateway_forget_webhook_settings()
        return super().write(vals)

    def unlink(self):
        self.env.registry.clear_cache()
        self._gateway_forget_webhook_settings()
        return super().unlink()

    # ------------------------------------------------------------------
    # Computes and constraints
    # ------------------------------------------------------------------
    @api.depends("provider")
    def _compute_provider_capabilities(self):
        for account in self:
            provider_class = PROVIDERS.get(account.provider)
            account.has_delivery_reports = bool(provider_class and provider_class.has_delivery_reports)
            account.has_inbound = bool(provider_class and provider_class.has_inbound)
            account.has_balance = bool(
                provider_class and (provider_class.has_balance or provider_class.balance_in_answers)
            )

    @api.depends("webhook_token", "provider")
    def _compute_webhook_url(self):
        for account in self:
            account.webhook_url = account._get_webhook_url() if account.has_delivery_reports else False
            account.inbound_url = account._get_webhook_url(INBOUND_ROUTE) if account.has_inbound else False

    def _get_webhook_url(self, route=WEBHOOK_ROUTE):
        self.ensure_one()
        return self._gateway_webhook_url(self.sudo().webhook_token, route)

    @api.model
    def _gateway_webhook_url(self, token, route=WEBHOOK_ROUTE):
        """The URL of ``route`` for the account whose webhook token is ``token`` (False without token)."""
        return f"{self.get_base_url().rstrip('/')}{route}{token}" if token else False

    @api.depends("provider", "provider_balance", "provider_balance_date", "provider_sms_price", "balance_gap_percent")
    def _compute_balance_gap_warning(self):
        for account in self:
            gap = account._get_balance_gap()
            if gap is None or gap <= account.balance_gap_percent:
                account.balance_gap_warning = False
            else:
                account.balance_gap_warning = _(
                    "The provider's balance (%(provider)s SMS) and the company's SMS credit (%(ledger)s) differ by "
                    "%(gap)s%%: check the top-ups and the provider account.",
                    provider=round(account.provider_balance / (account.provider_sms_price or 1.0)),
                    ledger=account.company_id.sms_credit_balance,
                    gap=round(gap),
                )

    def _get_balance_gap(self):
        """Gap in percent between the provider's balance (converted to SMS) and the company's credit, or None
        when there is nothing to compare (sandbox, no balance known)."""
        self.ensure_one()
        if self.provider == "sandbox" or not self.provider_balance_date:
            return None
        provider_sms = self.provider_balance / (self.provider_sms_price or 1.0)
        ledger = self.company_id.sudo().sms_credit_balance
        reference = max(abs(provider_sms), abs(ledger))
        if not reference:
            return 0.0
        return abs(provider_sms - ledger) * 100.0 / reference

    @api.constrains("provider", "username", "password", "api_key", "service_id", "space_id", "sender", "base_url")
    def _check_required_credentials(self):
        for account in self.sudo():
            missing = account._get_missing_credentials()
            if missing:
                raise ValidationError(missing)

    @api.constrains("provider", "extra_config", *CONNECTOR_ACCOUNT_FIELDS)
    def _check_connector_settings(self):
        for account in self.sudo():
            if account.extra_config:
                try:
                    extra = json.loads(account.extra_config)
                except ValueError as e:
                    raise ValidationError(
                        _("Advanced settings must be a JSON object: %(error)s", error=str(e))
                    ) from None
                if not isinstance(extra, dict):
                    raise ValidationError(_('Advanced settings must be a JSON object, like {"key": "value"}.'))
            provider_class = PROVIDERS.get(account.provider)
            if provider_class:
                try:
                    provider_class(account._get_connector_config()).check_settings()  # no session: no request
                except ProviderError as e:
                    raise ValidationError(str(e)) from None

    def _get_missing_credentials(self):
        """A translated message naming the credentials this account's provider needs and lacks, or False."""
        self.ensure_one()
        provider_class = PROVIDERS.get(self.provider)
        if not provider_class:
            return False
        account = self.sudo()
        missing = provider_class.missing_credentials({name: account[name] for name in CREDENTIAL_FIELDS})
        if not missing:
            return False
        labels = provider_class.credential_labels
        return _(
            'The %(provider)s account "%(account)s" needs: %(fields)s.',
            provider=dict(self._fields["provider"]._description_selection(self.env)).get(self.provider),
            account=self.name,
            fields=", ".join(labels.get(name) or self._fields[name]._description_string(self.env) for name in missing),
        )

    # ------------------------------------------------------------------
    # Connector
    # ------------------------------------------------------------------
    @api.model
    @tools.ormcache()
    def _gateway_company_ids(self):
        """The companies that send through the gateway. Cached: queueing an SMS for a company without an
        account must cost stock Odoo nothing, not even a query."""
        accounts = self.sudo().search([("active", "=", True)])
        company_ids = set(accounts.company_id.ids)
        # the branches a shared account sends for
        shared_all = accounts.filtered(lambda a: a.share_mode == "all").company_id
        if shared_all:
            company_ids.update(self.env["res.company"].sudo().search([("id", "child_of", shared_all.ids)]).ids)
        company_ids.update(accounts.filtered(lambda a: a.share_mode == "chosen").share_company_ids.ids)
        return frozenset(company_ids)

    @api.model
    def _get_for_company(self, company):
        """The account that sends for ``company`` now (its own first active one by sequence, or its
        structure's shared one: ``res.company._sms_gateway_accounts``)."""
        if company.id not in self._gateway_company_ids():
            return self.sudo().browse()
        return company._sms_gateway_accounts()[:1]

    @api.constrains("share_mode", "share_company_ids", "company_id")
    def _check_share_company_ids(self):
        for account in self.sudo():
            owner = account.company_id
            outside = account.share_company_ids.filtered(lambda c, owner=owner: not c._sms_is_member_of(owner))
            if outside:
                raise ValidationError(
                    _(
                        "An account is shared with branches of its company only: %(companies)s are not branches "
                        "of %(company)s.",
                        companies=", ".join(outside.mapped("name")),
                        company=account.company_id.name,
                    )
                )

    @api.model
    def _gateway_find_by_token(self, token):
        """The active account whose webhook token is ``token`` (sudo), or an empty recordset."""
        found = self._gateway_webhook_account(token)
        return self.sudo().browse(found.id if found else ())

    @api.model
    def _gateway_webhook_account(self, token):
        """The active account whose webhook token is ``token``, as a :class:`WebhookAccount` read in one query
        (the account, its company and that company's language), or None. The token read back is compared in
        constant time; a token of another length than ours is never looked up."""
        if not token or len(token) < 20 or len(token) > 128:
            return None
        # what this transaction changed but did not write yet (a test, a token regenerated in the same request)
        self.env["sms.gateway.account"].flush_model(["webhook_token", "active", "provider", "company_id"])
        self.env["res.company"].flush_model(["partner_id"])
        self.env["res.partner"].flush_model(["lang"])
        self.env.cr.execute(
            """SELECT a.id, a.webhook_token, a.provider, a.company_id, p.lang, a.write_date
                 FROM sms_gateway_account a
                 JOIN res_company c ON c.id = a.company_id
            LEFT JOIN res_partner p ON p.id = c.partner_id
                WHERE a.webhook_token = %s AND a.active""",
            [token],
        )
        row = self.env.cr.fetchone()
        if not row or not secrets.compare_digest(row[1].encode(), token.encode()):
            return None
        return WebhookAccount(*row)

    @api.model
    def _gateway_webhook_connector(self, found):
        """A connector for the webhook account ``found`` (:class:`WebhookAccount`), without HTTP session (one is
        opened only if the connector calls its provider): what reading a webhook request needs.

        The account's connector settings are kept in this process (in memory only, never logged) under the
        account's ``write_date``: any write of the account, by this process or another, gives another key or
        drops them (``write``), so a changed credential is used at once."""
        provider_class = PROVIDERS.get(found.provider)
        if not provider_class:
            raise UserError(_("No connector is installed for the provider '%(provider)s'.", provider=found.provider))
        cache = self._gateway_webhook_settings_cache()
        cached = cache.get(found.id)
        if cached and cached[0] == found.write_date:
            settings = cached[1]
        else:
            settings = self.sudo().browse(found.id)._get_connector_settings()
            cache[found.id] = (found.write_date, settings)
        config = dict(settings)
        if provider_class.has_delivery_reports:
            config["dlr_url"] = self._gateway_webhook_url(found.token)
            config["webhook_token"] = found.token
        config["ui_lang"] = found.lang or self.env.lang or "en_US"
        return provider_class(config)

    def _gateway_webhook_settings_cache(self):
        """``{account id: (write_date, connector settings)}`` of this registry (this database, this process)."""
        registry = self.env.registry
        cache = getattr(registry, "_sms_gateway_webhook_settings", None)
        if cache is None:
            cache = registry._sms_gateway_webhook_settings = {}
        return cache

    def _gateway_forget_webhook_settings(self):
        cache = self._gateway_webhook_settings_cache()
        for account_id in self._ids:
            cache.pop(account_id, None)

    def _get_connector_settings(self):
        """The connector settings read from the account's own row: advanced settings, credentials, the
        provider's account fields."""
        self.ensure_one()
        account = self.sudo()
        config = {}
        if account.extra_config:
            try:
                extra = json.loads(account.extra_config)
            except ValueError:
                extra = None
            if isinstance(extra, dict):
                config.update(extra)
        config.update({name: account[name] for name in CONNECTOR_CONFIG_FIELDS})
        provider_class = PROVIDERS.get(account.provider)
        if provider_class:
            config.update({key: account[name] for key, name in provider_class.account_fields.items()})
        return config

    def _get_connector_config(self):
        self.ensure_one()
        account = self.sudo()
        config = account._get_connector_settings()
        if account.has_delivery_reports:
            config["dlr_url"] = account._get_webhook_url()
            config["webhook_token"] = account.webhook_token  # in dlr_url: a secret the connector masks
        # the connector's messages end in the history: in the company's language
        config["ui_lang"] = account.company_id.partner_id.lang or self.env.lang or "en_US"
        return config

    def _gateway_new_session(self):
        """The HTTP session of a dispatch run (keep-alive): the seam tests replace."""
        return requests.Session()

    def _get_connector(self, session=None):
        """A connector for this account; pass ``session`` to reuse one HTTP session for a dispatch run."""
        self.ensure_one()
        provider_class = PROVIDERS.get(self.provider)
        if not provider_class:
            raise UserError(_("No connector is installed for the provider '%(provider)s'.", provider=self.provider))
        return provider_class(self._get_connector_config(), session=session or self._gateway_new_session())

    @api.model
    def _gateway_store_run_balances(self, run):
        """After a dispatch run (``providers.dispatch.DispatchRun``): record each account's balance, from the
        last answer or with one balance call per account and run."""
        for account_id, connector in run.connectors.items():
            account = self.sudo().browse(account_id)
            try:
                balance = account._gateway_read_balance(connector)
            except ProviderError as error:
                _logger.info("Balance of SMS account %s unavailable: %s", account_id, error)
                continue
            if balance is not None:
                account._gateway_store_balance(balance, connector.balance_currency or "")

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_test_connection(self):
        self.ensure_one()
        self.check_access("write")  # SMS managers only, also through RPC
        missing = self._get_missing_credentials()
        if missing:
            raise UserError(missing)
        connector = self._get_connector()
        try:
            message = connector.test_connection()
            balance = self._gateway_read_balance(connector)
        except ProviderError as error:
            self.last_test_message = _("Failed: %(error)s", error=error)
            return self._notify(_("Connection failed"), str(error), "danger")
        finally:
            connector.close()
        self.last_test_message = _("OK: %(message)s", message=message)
        if balance is not None:
            self._gateway_store_balance(balance, connector.balance_currency or "")
        return self._notify(_("Connection successful"), message, "success")

    def action_regenerate_webhook_token(self):
        """A new delivery report URL (the old one stops working at once)."""
        self.check_access("write")  # SMS managers only, also through RPC
        for account in self:
            account.webhook_token = secrets.token_urlsafe(32)

    def _notify(self, title, message, kind):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"title": title, "message": message, "type": kind, "sticky": kind == "danger"},
        }

    # ------------------------------------------------------------------
    # Balance
    # ------------------------------------------------------------------
    def _gateway_read_balance(self, connector, fetch=True):
        """The provider's balance as the connector knows it: ``last_balance`` (free, from the last answer),
        else a balance call when the provider has one and ``fetch``; None when unknown. May raise
        ProviderError."""
        if connector.last_balance is not None:
            return connector.last_balance
        if fetch and connector.has_balance and self.provider != "sandbox":
            return connector.get_balance()
        return None

    def _gateway_store_balance(self, balance, currency=None):
        """Record the provider's balance and alert managers once when it is far from the company's credit.

        Written with plain SQL in a savepoint so that dispatch runs of several workers never fail on a
        concurrent update of the account row: the balance is informative, the SMS results are not."""
        self.ensure_one()
        cr = self.env.cr
        try:
            with cr.savepoint(flush=False):
                cr.execute(
                    """UPDATE sms_gateway_account SET provider_balance = %s, provider_balance_date = %s,
                              provider_balance_currency = COALESCE(%s, provider_balance_currency)
                        WHERE id = %s""",
                    (balance, fields.Datetime.now(), currency or None, self.id),
                    log_exceptions=False,
                )
        except psycopg2.Error as e:  # a concurrent balance update: keep the other one
            _logger.info("Balance of SMS account %s not recorded: %s", self.id, e)
            return
        self.invalidate_recordset(["provider_balance", "provider_balance_date", "provider_balance_currency"])
        self._gateway_check_balance_gap()

    def _gateway_check_balance_gap(self):
        """Schedule one activity for the company's SMS managers when the gap exceeds the threshold; re-arm the
        alert once the gap is back under it."""
        for account in self.sudo():
            gap = account._get_balance_gap()
            if gap is None:
                continue
            if gap > account.balance_gap_percent and not account.balance_gap_alerted:
                account.balance_gap_alerted = True
                note = account.balance_gap_warning
                for manager in account._gateway_managers():
                    account.activity_schedule(
                        "mail.mail_activity_data_warning",
                        summary=_("SMS provider balance differs from the SMS credit"),
                        note=note,
                        user_id=manager.id,
                    )
            elif gap <= account.balance_gap_percent and account.balance_gap_alerted:
                account.balance_gap_alerted = False

    def _gateway_managers(self):
        self.ensure_one()
        group = self.env.ref(MANAGER, raise_if_not_found=False)
        if not group:
            return self.env["res.users"]
        return group.sudo().users.filtered(
            lambda u: u.active and not u.share and not u._is_superuser() and self.company_id in u.company_ids
        )

    @api.model
    def _cron_refresh_balances(self):
        """Daily: ask every active account's provider for its balance."""
        accounts = self.sudo().search([("active", "=", True), ("provider", "!=", "sandbox")])
        for account in accounts.filtered(lambda a: PROVIDERS.get(a.provider) and PROVIDERS[a.provider].has_balance):
            if account._get_missing_credentials():
                continue
            connector = account._get_connector()
            try:
                balance = account._gateway_read_balance(connector)
            except ProviderError as error:
                _logger.info("Balance of SMS account %s unavailable: %s", account.id, error)
                continue
            finally:
                connector.close()
            if balance is not None:
                account._gateway_store_balance(balance, connector.balance_currency or "")


class SmsGatewayAccountProviders(models.Model):
    """The real providers, each backed by a connector of ``providers/``. When the values disappear (module
    uninstalled), accounts fall back to the sandbox, which sends nothing: never a real SMS by surprise."""

    _inherit = "sms.gateway.account"

    provider = fields.Selection(
        selection_add=PROVIDER_SELECTION,
        ondelete={code: "set default" for code, _label in PROVIDER_SELECTION},
    )
