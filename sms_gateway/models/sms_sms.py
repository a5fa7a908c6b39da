import logging
import re
import threading
from collections import Counter
from datetime import timedelta
from uuid import uuid4

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.osv import expression

from odoo.addons.phone_validation.tools import phone_validation

from ..tools.bulk_insert import can_copy_rows, insert_row_copies
from ..tools.sms_segments import count_sms
from .sms_credit_move import PENDING_STATES

try:
    import phonenumbers
except ImportError:  # Odoo's normaliser alone (it says the library is missing)
    phonenumbers = None

# "+" and 7 to 15 digits: a number already in E.164 form (ITU-T E.164: at most 15 digits)
E164_SHAPE = re.compile(r"^\+[1-9]\d{6,14}$")
# from this many SMS created at once, the rows after the first are copies of it (``_gateway_create_many``)
COPY_MIN_ROWS = 50

_logger = logging.getLogger(__name__)

# SMS deleted per transaction by the history retention.
GC_CHUNK = 10000


class SmsSms(models.Model):
    _inherit = "sms.sms"

    failure_type = fields.Selection(
        selection_add=[
            ("sms_expired", "Expired"),
            ("sms_invalid_destination", "Invalid Destination"),
            ("sms_not_allowed", "Not Allowed"),
            ("sms_not_delivered", "Not Delivered"),
            ("sms_rejected", "Rejected"),
            ("sms_interrupted", "Sending Interrupted"),
            ("sms_uncertain", "Uncertain"),
        ]
    )
    company_id = fields.Many2one("res.company", index=True, readonly=True)
    gateway_account_id = fields.Many2one(
        "sms.gateway.account", "Provider account", index="btree_not_null", readonly=True, ondelete="restrict"
    )
    sms_segment_count = fields.Integer("Segments", readonly=True)
    sms_encoding = fields.Selection([("GSM-7", "GSM-7"), ("UCS-2", "UCS-2 (unicode)")], "Encoding", readonly=True)
    credit_charged = fields.Integer(
        "Cost (SMS units)", readonly=True, help="Credit held or charged for this SMS; 0 once refunded."
    )
    credit_move_id = fields.Many2one("sms.credit.move", "Credit move", readonly=True, index="btree_not_null")
    provider_message_id = fields.Char("Provider message id", readonly=True, index="btree_not_null", copy=False)
    sent_date = fields.Datetime("Sent on", readonly=True, copy=False)
    error_message = fields.Char("Error message", readonly=True, copy=False)
    error_display = fields.Char("Error", compute="_compute_error_display")
    origin_label = fields.Char("Origin", readonly=True, index=True)
    attempt_count = fields.Integer("Attempts", readonly=True, copy=False)
    next_try_date = fields.Datetime("Next try", readonly=True, copy=False)
    claimed_at = fields.Datetime("Sending started", readonly=True, copy=False)
    # indexed by the unique (send, recipient) constraint and by sms_sms_gateway_send_number_index (init)
    send_batch_id = fields.Many2one("sms.send.batch", "Send", readonly=True, ondelete="set null", copy=False)
    send_res_id = fields.Integer("Recipient record", readonly=True, copy=False)

    _sql_constraints = [
        # a send prepared in chunks, resumed after a crash, never creates a recipient's SMS twice
        ("send_recipient_unique", "UNIQUE(send_batch_id, send_res_id)", "A recipient gets one SMS per send."),
    ]

    @api.depends("failure_type", "error_message")
    def _compute_error_display(self):
        labels = dict(self._fields["failure_type"]._description_selection(self.env))
        messages = self._gateway_failure_messages()
        for sms in self:
            if not sms.failure_type:
                sms.error_display = False
            else:
                sms.error_display = sms.error_message or messages.get(sms.failure_type) or labels.get(sms.failure_type)

    @api.model
    def _gateway_failure_messages(self):
        return {
            "sms_credit": _("Insufficient credit"),
            "sms_number_format": _("Invalid number"),
            "sms_number_missing": _("Missing number"),
            "sms_server": _("Provider unreachable"),
            "sms_acc": _("Provider account refused"),
            "sms_interrupted": _("Sending interrupted — not resent"),
            "sms_uncertain": _("Uncertain: the provider may have sent it — not resent"),
        }

    # ------------------------------------------------------------------
    # Queueing: company, account, number, segments, credit reservation
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        if len(vals_list) >= COPY_MIN_ROWS:
            return self._gateway_create_many(vals_list)
        reservation = self._gateway_before_create(vals_list)
        records = super().create(vals_list)
        self._gateway_after_create(records, reservation)
        return records

    @api.model
    def _gateway_create_many(self, vals_list):
        """``create`` for the many similar SMS of a big send (same checks, values and credit reservation), the
        rows after the first inserted as copies of it in one statement (``tools/bulk_insert.py``)."""
        for vals in vals_list:
            vals.setdefault("uuid", uuid4().hex)  # the one default that differs per row
        reservation = self._gateway_before_create(vals_list)
        if not any(vals.get("gateway_account_id") for vals in vals_list):
            # SMS of companies without an account (IAP): Odoo's own create, exactly as without this addon
            records = super().create(vals_list)
            self._gateway_after_create(records, reservation)
            return records
        keys = {key for vals in vals_list for key in vals}
        # a key some values lack (an error message, a state) takes its default there, as the ORM would give it
        partial = {key for vals in vals_list for key in keys - vals.keys()}
        complete = all(key in self._fields for key in partial)
        missing = self.default_get([key for key in partial if self._fields[key].default]) if complete else {}
        rows = [{key: vals.get(key, missing.get(key, False)) for key in keys} for vals in vals_list] if complete else []
        varied = [key for key in keys if any(row[key] != rows[0][key] for row in rows)] if rows else []
        if len(vals_list) < 2 or not varied or not can_copy_rows(self, varied):
            records = super().create(vals_list)
        else:
            template = super().create(vals_list[:1])
            copies = insert_row_copies(template, [{key: row[key] for key in varied} for row in rows[1:]])
            records = template + copies
        self._gateway_after_create(records, reservation)
        return records

    @api.model
    def _gateway_before_create(self, vals_list):
        """Company, account, number, segments and origin in the values, and their credit reserved: the rows
        are inserted charged (or refused), never updated right after."""
        self._sms_check_send_rights()
        batch_id = self.env.context.get("sms_send_batch_id")  # set by the composer around its send
        if batch_id:
            for vals in vals_list:
                vals.setdefault("send_batch_id", batch_id)
        self._gateway_prepare_vals(vals_list)
        self._gateway_apply_sending_rules(vals_list)  # models/sms_sms_rules.py: cap, sending window
        return self.env["sms.credit.move"]._reserve_sms_vals(vals_list)

    @api.model
    def _gateway_after_create(self, records, reservation):
        if reservation:
            self.env["sms.credit.move"]._reserve_sms_created(records, reservation)

    def action_set_canceled(self):
        """Cancel; the credit of the SMS that were still waiting in the queue is given back."""
        queued = self._gateway_lock_queued()
        super().action_set_canceled()
        self.env["sms.credit.move"]._refund_sms(queued, _("Refund: SMS canceled"))

    def _gateway_lock_queued(self):
        """The SMS of ``self`` still in the queue (``outgoing``), locked against a dispatch run claiming them
        at the same moment (one that claimed them first keeps them: they are being sent)."""
        outgoing = self.filtered(lambda s: s.state == "outgoing")
        if not outgoing:
            return outgoing
        self.flush_model(["state"])
        self.env.cr.execute(
            "SELECT id FROM sms_sms WHERE id IN %s AND state = 'outgoing' FOR NO KEY UPDATE SKIP LOCKED",
            (tuple(outgoing.ids),),
        )
        return self.browse([row[0] for row in self.env.cr.fetchall()])

    def _gateway_cancel_queued(self):
        """Cancel the SMS of ``self`` that no provider got yet (see ``_gateway_lock_queued``), refunded."""
        queued = self._gateway_lock_queued()
        queued.action_set_canceled()
        return queued

    @api.model
    def _sms_check_send_rights(self):
        """With "Restrict SMS sending to SMS users", internal users outside the group cannot send."""
        user = self.env.user
        if user._is_superuser() or user.share or user.has_group("sms_gateway.group_sms_user"):
            return
        raise AccessError(
            _(
                "You are not allowed to send SMS: ask an administrator to add you to the SMS users (%(user)s).",
                user=user.name,
            )
        )

    @api.model
    def _gateway_prepare_vals(self, vals_list):
        """Fill company, account, normalised number, segments and origin in the values of new SMS."""
        gateway_company_ids = self.env["sms.gateway.account"]._gateway_company_ids()
        if not gateway_company_ids:
            return  # no company sends through the gateway: stock Odoo, untouched
        companies = self._gateway_resolve_companies(vals_list)
        accounts = {}
        partner_country = None  # read when a number must be parsed (never for the composer's E.164 numbers)
        origin_by_message = self._gateway_default_origin(vals_list)
        counts = {}
        formatted = {}
        trusted_e164 = self.env.context.get("sms_gateway_numbers_e164")
        for vals, company in zip(vals_list, companies, strict=True):
            vals.setdefault("company_id", company.id)
            vals.setdefault(
                "origin_label",
                self.env.context.get("sms_origin")
                or origin_by_message.get(vals.get("mail_message_id"))
                or origin_by_message[None],
            )
            if company.id not in accounts:
                accounts[company.id] = company.id in gateway_company_ids and self.env[
                    "sms.gateway.account"
                ]._get_for_company(company)
            account = accounts[company.id]
            if not account:
                continue  # no account: stock Odoo (IAP) path, nothing changes
            vals["gateway_account_id"] = account.id
            body = vals.get("body") or ""
            if body not in counts:
                counts[body] = count_sms(body)
            count = counts[body]
            vals.update(sms_segment_count=count.segments, sms_encoding=count.encoding)
            if vals.get("state", "outgoing") != "outgoing":
                continue
            number = (vals.get("number") or "").strip()
            if not number:
                vals.update(state="error", failure_type="sms_number_missing", error_message=_("Missing number"))
                continue
            if trusted_e164 and number.startswith("+"):
                continue  # already sanitized to E.164 by the caller (composer recipients analysis)
            if partner_country is None:
                partner_country = self._gateway_partner_countries(vals_list)
            country = partner_country.get(vals.get("partner_id")) or company.country_id.code
            key = (number, country)
            if key not in formatted:
                formatted[key] = self._gateway_format_number(number, country)
            if formatted[key]:
                vals["number"] = formatted[key]
            else:
                vals.update(
                    state="error",
                    failure_type="sms_number_format",
                    error_message=_("Invalid number: %(number)s", number=number),
                )

    @api.model
    def _gateway_partner_countries(self, vals_list):
        """{partner id: country code} of the partners of new SMS (their country only, not the whole partner)."""
        partners = (
            self.env["res.partner"].browse({vals["partner_id"] for vals in vals_list if vals.get("partner_id")}).sudo()
        )
        partners.fetch(["country_id"])
        return {partner.id: partner.country_id.code for partner in partners}

    @api.model
    def _gateway_resolve_companies(self, vals_list):
        """The company of each new SMS: explicit, else the company of the record the message is posted on,
        else the current company."""
        message_ids = {vals["mail_message_id"] for vals in vals_list if vals.get("mail_message_id")}
        message_company = {}
        if message_ids:
            for message in self.env["mail.message"].sudo().browse(message_ids):
                message_company[message.id] = message.record_company_id
        Company = self.env["res.company"].sudo()
        result = []
        for vals in vals_list:
            if vals.get("company_id"):
                result.append(Company.browse(vals["company_id"]))
            else:
                result.append(message_company.get(vals.get("mail_message_id")) or self.env.company)
        return result

    @api.model
    def _gateway_default_origin(self, vals_list):
        """Origin labels when the caller gave none: the application (model) the message was posted on."""
        origins = {None: _("Code")}
        if self.env.context.get("sms_origin"):
            return origins
        message_ids = {vals["mail_message_id"] for vals in vals_list if vals.get("mail_message_id")}
        if message_ids:
            messages = self.env["mail.message"].sudo().browse(message_ids)
            model_names = {
                model.model: model.name
                for model in self.env["ir.model"].sudo().search([("model", "in", list(set(messages.mapped("model"))))])
            }
            for message in messages:
                origins[message.id] = model_names.get(message.model) or _("Code")
        return origins

    @api.model
    def _gateway_format_number(self, number, country_code):
        """E.164 form of ``number`` or False when it is not a valid phone number (Odoo's own normaliser)."""
        if phonenumbers and E164_SHAPE.match(number):
            # already international: one parse says it is valid (Odoo's normaliser parses twice to reformat
            # national input, the cost of a big send's queueing); any doubt goes to Odoo's normaliser
            try:
                parsed = phonenumbers.parse(number, None)
            except phonenumbers.NumberParseException:
                parsed = None
            if parsed is not None and phonenumbers.is_valid_number(parsed):
                formatted = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
                if formatted == number:
                    return formatted
        try:
            return phone_validation.phone_format(number, country_code or None, None, force_format="E164")
        except UserError:
            return False

    # ------------------------------------------------------------------
    # History retention
    # ------------------------------------------------------------------
    @api.autovacuum
    def _gc_gateway_history(self):
        """Delete the SMS older than their company's retention period, by chunks of ``GC_CHUNK`` with a
        commit between chunks: a long history never holds one huge transaction (nor its locks)."""
        companies = self.env["res.company"].sudo().search([("sms_history_retention_days", ">", 0)])
        if not companies:
            return
        now = fields.Datetime.now()
        # one search for every company, each with its own limit date
        domain = expression.AND(
            [
                [("state", "not in", PENDING_STATES)],
                expression.OR(
                    [
                        [
                            ("company_id", "=", company.id),
                            ("create_date", "<", now - timedelta(days=company.sms_history_retention_days)),
                        ]
                        for company in companies
                    ]
                ),
            ]
        )
        auto_commit = not getattr(threading.current_thread(), "testing", False)
        deleted = Counter()
        while old := self.sudo().search(domain, limit=GC_CHUNK, order="id"):
            deleted.update(sms.company_id.id for sms in old)
            old.unlink()
            if auto_commit:
                self.env.cr.commit()  # pylint: disable=invalid-commit  # one chunk at a time
            if len(old) < GC_CHUNK:
                break
        for company in companies:
            _logger.info(
                "Deleted %s SMS older than %s days (company %s)",
                deleted[company.id],
                company.sms_history_retention_days,
                company.id,
            )
