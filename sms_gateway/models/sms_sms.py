import logging
from datetime import timedelta

import phonenumbers

from odoo import _, api, fields, models
from odoo.exceptions import AccessError
from odoo.osv import expression

from ..tools.sms_segments import count_sms

_logger = logging.getLogger(__name__)

# SMS still waiting for the provider: their credit is reserved, not settled.
PENDING_STATES = ("outgoing", "process")


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
        }

    # ------------------------------------------------------------------
    # Queueing: company, account, number, segments, credit reservation
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        self._sms_check_send_rights()
        self._gateway_prepare_vals(vals_list)
        # credit reserved in the values: the rows are inserted charged (or refused), never updated right after
        reservation = self._gateway_reserve_credit_vals(vals_list)
        records = super().create(vals_list)
        if reservation:
            records._gateway_reserved_after_create(reservation)
        return records

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
        """E.164 form of ``number`` or False when it is not a valid phone number."""
        try:
            parsed = phonenumbers.parse(number, country_code or None)
        except phonenumbers.NumberParseException:
            return False
        if not phonenumbers.is_valid_number(parsed):
            return False
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)

    @api.model
    def _gateway_sms_cost(self, segments, credits_per_segment):
        """Credit one SMS costs: its segments (at least one) at the account's price of a segment."""
        return max(segments or 0, 1) * credits_per_segment

    @api.model
    def _gateway_split_credit(self, company, costs):
        """Lock the credit of ``company`` and take the ``(key, cost)`` items in order: those it covers are
        reserved, the others refused. Returns ``{cost: [keys]}`` reserved and ``{error message: [keys]}``
        refused."""
        available = company.sudo()._sms_lock_credit()
        reserved_by_cost = {}
        refused_by_message = {}
        for key, cost in costs:
            if cost <= available:
                available -= cost
                reserved_by_cost.setdefault(cost, []).append(key)
            else:
                message = _(
                    "Insufficient credit: %(needed)s SMS needed, %(available)s available",
                    needed=cost,
                    available=available,
                )
                refused_by_message.setdefault(message, []).append(key)
        return reserved_by_cost, refused_by_message

    @api.model
    def _gateway_consumption_move(self, company, reserved_by_cost, reference, sms_id=False):
        """The one reserved consumption move of a create batch (or of a reservation) of ``company``."""
        total = sum(cost * len(keys) for cost, keys in reserved_by_cost.items())
        return (
            self.env["sms.credit.move"]
            .sudo()
            .create(
                {
                    "company_id": company.id,
                    "move_type": "consumption",
                    "state": "reserved",
                    "quantity": -total,
                    "sms_count": sum(len(keys) for keys in reserved_by_cost.values()),
                    "sms_id": sms_id,
                    "reference": reference,
                }
            )
        )

    @api.model
    def _gateway_reserve_credit_vals(self, vals_list):
        """``_gateway_reserve_credit`` for SMS about to be created, on their values: same order, same lock,
        one consumption move per company, the cost or the refusal written in the values (no UPDATE of the
        new rows). Values without a company are left to ``_gateway_reserve_credit`` after the create.

        :return: None when no SMS goes through the gateway, else ``{"moves": [(move, [vals indexes])],
            "refused": {company id: {message: [vals indexes]}}, "late": [vals indexes]}``
        """
        by_company = {}
        late = []
        for index, vals in enumerate(vals_list):
            if not vals.get("gateway_account_id") or vals.get("state", "outgoing") != "outgoing":
                continue
            if vals.get("company_id"):
                by_company.setdefault(vals["company_id"], []).append(index)
            else:
                late.append(index)
        if not by_company and not late:
            return None
        Account = self.env["sms.gateway.account"].sudo()
        Company = self.env["res.company"].sudo()
        per_segment = {}
        moves = []
        refused = {}
        for company_id, indexes in by_company.items():
            costs = []
            for index in indexes:
                vals = vals_list[index]
                account_id = vals["gateway_account_id"]
                if account_id not in per_segment:
                    per_segment[account_id] = Account.browse(account_id).credits_per_segment
                costs.append((index, self._gateway_sms_cost(vals.get("sms_segment_count"), per_segment[account_id])))
            company = Company.browse(company_id)
            reserved_by_cost, refused_by_message = self._gateway_split_credit(company, costs)
            if reserved_by_cost:
                first = min(index for keys in reserved_by_cost.values() for index in keys)
                move = self._gateway_consumption_move(company, reserved_by_cost, vals_list[first].get("origin_label"))
                for cost, keys in reserved_by_cost.items():
                    for index in keys:
                        vals_list[index].update(credit_charged=cost, credit_move_id=move.id)
                moves.append((move, [index for keys in reserved_by_cost.values() for index in keys]))
            for message, keys in refused_by_message.items():
                for index in keys:
                    vals_list[index].update(state="error", failure_type="sms_credit", error_message=message)
            if refused_by_message:
                refused[company_id] = refused_by_message
        return {"moves": moves, "refused": refused, "late": late}

    def _gateway_reserved_after_create(self, reservation):
        """After ``_gateway_reserve_credit_vals``: ``self`` are the created SMS, in the order of the values."""
        for move, indexes in reservation["moves"]:
            if len(indexes) == 1:
                move.sms_id = self._ids[indexes[0]]
        for company_id, refused_by_message in reservation["refused"].items():
            ids_by_message = {
                message: [self._ids[index] for index in indexes] for message, indexes in refused_by_message.items()
            }
            refused = self.browse([sms_id for ids in ids_by_message.values() for sms_id in ids])
            refused.sms_tracker_id._action_update_from_sms_state("error", failure_type="sms_credit")
            _logger.info("SMS refused for insufficient credit in company %s: %s", company_id, ids_by_message)
        if reservation["late"]:
            late = self.browse([self._ids[index] for index in reservation["late"]])
            late.filtered(lambda s: s.state == "outgoing")._gateway_reserve_credit()

    def _gateway_reserve_credit(self):
        """Reserve the credit of queued SMS, in order, per company; those whose cost the company cannot cover
        end in error, uncharged."""
        for company, company_sms in self.grouped("company_id").items():
            reserved_by_cost, refused_by_message = self._gateway_split_credit(
                company,
                (
                    (sms.id, self._gateway_sms_cost(sms.sms_segment_count, sms.gateway_account_id.credits_per_segment))
                    for sms in company_sms
                ),
            )
            reserved = self.browse([sms_id for ids in reserved_by_cost.values() for sms_id in ids])
            if reserved:
                move = self._gateway_consumption_move(
                    company,
                    reserved_by_cost,
                    reserved[:1].origin_label,
                    sms_id=reserved.id if len(reserved) == 1 else False,
                )
                for cost, ids in reserved_by_cost.items():
                    self.browse(ids).write({"credit_charged": cost, "credit_move_id": move.id})
            for message, ids in refused_by_message.items():
                refused = self.browse(ids)
                refused.write({"state": "error", "failure_type": "sms_credit", "error_message": message})
                refused.sms_tracker_id._action_update_from_sms_state("error", failure_type="sms_credit")
            if refused_by_message:
                _logger.info("SMS refused for insufficient credit in company %s: %s", company.id, refused_by_message)
        return True

    # ------------------------------------------------------------------
    # History retention
    # ------------------------------------------------------------------
    @api.autovacuum
    def _gc_gateway_history(self):
        companies = self.env["res.company"].sudo().search([("sms_history_retention_days", ">", 0)])
        if not companies:
            return
        now = fields.Datetime.now()
        # one search for every company, each with its own limit date
        old = self.sudo().search(
            expression.AND(
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
        )
        old_by_company = old.grouped("company_id")
        old.unlink()
        for company in companies:
            _logger.info(
                "Deleted %s SMS older than %s days (company %s)",
                len(old_by_company.get(company, ())),
                company.sms_history_retention_days,
                company.id,
            )
