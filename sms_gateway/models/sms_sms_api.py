from odoo import _, api, fields, models

from ..tools.api_errors import ApiError
from ..tools.sms_segments import to_gsm7

# sms.sms state -> the API's status (the API's words are those of its callers: "sent" means handed to the
# provider, "delivered" confirmed by the provider's delivery report)
API_STATUS = {
    "outgoing": "queued",
    "process": "sending",
    "pending": "sent",
    "sent": "delivered",
    "error": "failed",
    "canceled": "canceled",
}
# the states a status callback is sent for
CALLBACK_STATES = ("pending", "sent", "error")


def api_datetime(value):
    return fields.Datetime.to_datetime(value).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


class SmsSms(models.Model):
    """The SMS sent through the JSON API: who sent them, the caller's reference and where their status goes."""

    _inherit = "sms.sms"

    application_id = fields.Many2one(
        "sms.gateway.application", "Application", readonly=True, index="btree_not_null", ondelete="set null"
    )
    api_reference = fields.Char("Reference", readonly=True, index="btree_not_null", help="The caller's reference.")
    api_callback_url = fields.Char("Status callback URL", readonly=True, groups="sms_gateway.group_sms_manager")
    # the last state a status callback was queued for (the callback cron compares it with the state)
    api_callback_state = fields.Char(readonly=True, groups="base.group_system")

    def init(self):
        super().init()
        # the callback cron's scan: API SMS whose state changed since their last callback
        self.env.cr.execute(
            """CREATE INDEX IF NOT EXISTS sms_sms_api_callback_due_index ON sms_sms (id)
                WHERE api_callback_url IS NOT NULL AND state IS DISTINCT FROM api_callback_state"""
        )

    # ------------------------------------------------------------------
    # Status callbacks: the callback cron woken when an API SMS changes state
    # ------------------------------------------------------------------
    def _api_wake_callbacks(self):
        """Trigger the callback cron, once per transaction, when some of ``self`` are API SMS whose state
        changed since their last callback: the caller hears of it in seconds, not at the cron's next run."""
        if not self.ids or self.env.cr.precommit.data.get("sms_gateway.callbacks_woken"):
            return
        self.flush_model(["state"])
        self.env.cr.execute(
            """SELECT 1 FROM sms_sms WHERE id = ANY(%s)
                  AND api_callback_url IS NOT NULL AND state IS DISTINCT FROM api_callback_state LIMIT 1""",
            (self.ids,),
        )
        if self.env.cr.fetchone():
            self.env.cr.precommit.data["sms_gateway.callbacks_woken"] = True  # cleared at commit and rollback
            self.env.ref("sms_gateway.ir_cron_sms_gateway_api_callbacks")._trigger()

    # ------------------------------------------------------------------
    # POST /messages
    # ------------------------------------------------------------------
    @api.model
    def _api_send(self, application, company, payload):
        """Queue one SMS per distinct recipient of ``payload`` (validated by the controller) for ``company``,
        through the normal creation path (account, segments, credit reserved, blacklist); ``self.env`` is
        the key's user. Nothing is sent here. Raise ApiError (the caller rolls back) when the credit does not
        cover every SMS: all or nothing."""
        account = self.env["sms.gateway.account"]._get_for_company(company)
        if not account:
            raise ApiError(
                403,
                "no_account",
                _("%(company)s has no active SMS provider account.", company=company.name),
            )
        admin_id = self.env["ir.model.data"]._xmlid_to_res_id("base.user_admin", raise_if_not_found=False)
        if company.sms_forbid_admin and self.env.uid == admin_id:
            raise ApiError(
                403,
                "sending_restricted",
                _("%(company)s does not send SMS from the shared administrator account.", company=company.name),
            )
        sender = payload.get("sender")
        if sender and sender.strip().lower() != (account.sender or "").strip().lower():
            raise ApiError(
                422,
                "sender_not_allowed",
                _(
                    "The sender %(sender)s is not allowed: SMS of %(company)s are sent as %(allowed)s.",
                    sender=sender,
                    company=company.name,
                    allowed=account.sender or _("the provider's default sender"),
                ),
            )
        recipients = payload["recipients"]
        body = payload["text"]
        if company.sms_replace_accents:
            body = to_gsm7(body)
        if company.sms_max_length and len(body) > company.sms_max_length:
            raise ApiError(
                422,
                "text_too_long",
                _(
                    "Your message has %(length)s characters; your company limits SMS to %(limit)s characters.",
                    length=len(body),
                    limit=company.sms_max_length,
                ),
            )
        mention = (company.sms_optout_mention or "").strip()
        if mention and len(recipients) > 1 and not body.rstrip().endswith(mention):
            body = f"{body.rstrip()} {mention}"  # a mass send, as the composer does
        country = company.country_id.code
        formatted = {}
        for raw in recipients:
            if raw not in formatted:
                formatted[raw] = self._gateway_format_number(raw.strip(), country) if raw.strip() else False
        valid_numbers = {number for number in formatted.values() if number}
        blacklisted = set()
        if valid_numbers:
            self.env.cr.execute(
                "SELECT number FROM phone_blacklist WHERE active AND number = ANY(%s)", (list(valid_numbers),)
            )
            blacklisted = {row[0] for row in self.env.cr.fetchall()}
        common = {
            "body": body,
            "company_id": company.id,
            "application_id": application.id,
            "api_reference": payload.get("reference") or False,
            "api_callback_url": payload.get("callback_url") or False,
            "origin_label": application.name,
            "next_try_date": payload.get("send_at") or False,
        }
        results = []
        vals_list = []
        first_index = {}
        for index, raw in enumerate(recipients):
            number = formatted[raw]
            result = {"index": index, "recipient": raw, "id": None, "number": number or None}
            results.append(result)
            if number and number in first_index:
                result.update(status="rejected", reason="duplicate", duplicate_of=first_index[number])
                result["message"] = _("Duplicate of recipient %(index)s", index=first_index[number])
                continue
            vals = dict(common, number=number or raw)
            if common["api_callback_url"]:
                vals["api_callback_state"] = "outgoing" if number and number not in blacklisted else "error"
            if not number:
                vals.update(
                    state="error",
                    failure_type="sms_number_format",
                    error_message=_("Invalid number: %(number)s", number=raw),
                )
                result.update(status="rejected", reason="invalid_number", message=vals["error_message"])
            elif number in blacklisted:
                first_index[number] = index
                vals.update(state="error", failure_type="sms_blacklist", error_message=_("Blacklisted number"))
                result.update(status="rejected", reason="blacklisted", message=vals["error_message"])
            else:
                first_index[number] = index
                result.update(status="queued", reason=None, message=None)
            result["_vals"] = len(vals_list)
            vals_list.append(vals)
        # sudo as the composer does (SMS users cannot create sms.sms rows themselves); the key's user stays
        # the creator, so record rules (a sender sees what they sent) and send rights apply
        SmsSudo = self.with_company(company).with_context(sms_gateway_numbers_e164=True).sudo()
        records = SmsSudo._gateway_create_many(vals_list) if len(vals_list) > 1 else SmsSudo.create(vals_list)
        short = records.filtered(lambda s: s.failure_type == "sms_credit")
        if short:
            self._api_raise_insufficient_credit(company, account, records)
        total = 0
        for result in results:
            position = result.pop("_vals", None)
            if position is None:
                result.update(segments=0, credits=0)
                continue
            sms = records[position]
            result.update(id=sms.id, segments=sms.sms_segment_count, credits=sms.credit_charged)
            total += sms.credit_charged
        if records.filtered(lambda s: s.state == "outgoing"):
            self._gateway_trigger_cron(at=payload.get("send_at") or None)
        return {
            "reference": payload.get("reference") or None,
            "queued": sum(1 for r in results if r["status"] == "queued"),
            "rejected": sum(1 for r in results if r["status"] == "rejected"),
            "credits": total,
            "messages": results,
        }

    @api.model
    def _api_raise_insufficient_credit(self, company, account, records):
        to_send = records.filtered(lambda s: s.failure_type == "sms_credit" or s.state == "outgoing")
        needed = sum(
            self.env["sms.credit.move"]._sms_cost(s.sms_segment_count, account.credits_per_segment) for s in to_send
        )
        # still under the paying company's lock taken by the refused reservation: the same answer
        quota_problem = company._sms_quota_problem(needed)
        if quota_problem:
            raise ApiError(402, "quota_exceeded", _("%(problem)s Nothing was sent.", problem=quota_problem))
        # the balance before this request: what was reserved here is rolled back with it
        balance = company._sms_credit_company().sms_credit_balance + sum(records.mapped("credit_charged"))
        raise ApiError(
            402,
            "insufficient_credit",
            _(
                "Insufficient credit: this send needs %(needed)s SMS, your balance is %(balance)s SMS. "
                "Nothing was sent.",
                needed=needed,
                balance=balance,
            ),
        )

    # ------------------------------------------------------------------
    # GET /messages, DELETE /messages/{id}
    # ------------------------------------------------------------------
    def _api_json(self):
        """The API's view of each SMS (no text: the caller has it, and it is need-to-know)."""
        self.fetch(
            [
                "number",
                "state",
                "failure_type",
                "error_message",
                "api_reference",
                "sms_segment_count",
                "credit_charged",
                "create_date",
                "sent_date",
                "delivery_date",
                "next_try_date",
            ]
        )
        messages = self._gateway_failure_messages()
        return [
            {
                "id": sms.id,
                "number": sms.number or None,
                "status": API_STATUS.get(sms.state, sms.state),
                "failure_type": sms.failure_type or None,
                "error_message": (sms.error_message or messages.get(sms.failure_type) or sms.failure_type or None)
                if sms.failure_type
                else None,
                "reference": sms.api_reference or None,
                "segments": sms.sms_segment_count,
                "credits": sms.credit_charged,
                "created_at": api_datetime(sms.create_date),
                "send_at": api_datetime(sms.next_try_date) if sms.state == "outgoing" else None,
                "sent_at": api_datetime(sms.sent_date),
                "delivered_at": api_datetime(sms.delivery_date) if sms.state == "sent" else None,
            }
            for sms in self
        ]

    def _api_cancel(self):
        """Cancel ``self`` (one SMS of the caller) when no provider got it yet: refunded. Raise ApiError 409
        when it is too late."""
        self.ensure_one()
        canceled = self.sudo()._gateway_cancel_queued()
        if not canceled:
            raise ApiError(
                409,
                "not_cancelable",
                _("This SMS cannot be canceled any more: it is %(status)s.", status=API_STATUS.get(self.state)),
            )
        return canceled
