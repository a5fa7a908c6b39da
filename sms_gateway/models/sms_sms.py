import logging
import random
import threading
from datetime import timedelta

import phonenumbers
from psycopg2.extras import execute_values

from odoo import _, api, fields, models, tools
from odoo.exceptions import AccessError

from ..providers.base import TRANSIENT_FAILURES, OutgoingSms
from ..providers.dispatch import send_all
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
        records = super().create(vals_list)
        records.filtered(lambda s: s.gateway_account_id and s.state == "outgoing")._gateway_reserve_credit()
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
        companies = self._gateway_resolve_companies(vals_list)
        accounts = {}
        partners = (
            self.env["res.partner"].browse({vals["partner_id"] for vals in vals_list if vals.get("partner_id")}).sudo()
        )
        partner_country = {p.id: p.country_id.code for p in partners}
        default_origin = self.env.context.get("sms_origin") or self._gateway_default_origin(vals_list)
        counts = {}
        formatted = {}
        for vals, company in zip(vals_list, companies, strict=True):
            vals.setdefault("company_id", company.id)
            vals.setdefault("origin_label", default_origin.get(vals.get("mail_message_id")) or default_origin.get(None))
            if company.id not in accounts:
                accounts[company.id] = self.env["sms.gateway.account"]._get_for_company(company)
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

    def _gateway_reserve_credit(self):
        """Reserve the credit of queued SMS, in order, per company; those whose cost the company cannot cover
        end in error, uncharged."""
        Move = self.env["sms.credit.move"].sudo()
        for company, company_sms in self.grouped("company_id").items():
            available = company.sudo()._sms_lock_credit()
            reserved_by_cost = {}
            refused_by_message = {}
            for sms in company_sms:
                cost = max(sms.sms_segment_count, 1) * sms.gateway_account_id.credits_per_segment
                if cost <= available:
                    available -= cost
                    reserved_by_cost.setdefault(cost, []).append(sms.id)
                else:
                    message = _(
                        "Insufficient credit: %(needed)s SMS needed, %(available)s available",
                        needed=cost,
                        available=available,
                    )
                    refused_by_message.setdefault(message, []).append(sms.id)
            reserved = self.browse([sms_id for ids in reserved_by_cost.values() for sms_id in ids])
            if reserved:
                total = sum(cost * len(ids) for cost, ids in reserved_by_cost.items())
                move = Move.create(
                    {
                        "company_id": company.id,
                        "move_type": "consumption",
                        "state": "reserved",
                        "quantity": -total,
                        "sms_count": len(reserved),
                        "sms_id": reserved.id if len(reserved) == 1 else False,
                        "reference": reserved[:1].origin_label,
                    }
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
    # Dispatch
    # ------------------------------------------------------------------
    def send(self, unlink_failed=False, unlink_sent=True, auto_commit=False, raise_exception=False):
        """Gateway SMS are sent by claim: at once in a committing run (cron, ``auto_commit``) and in tests;
        inside a user transaction they stay queued and the queue cron is woken: a provider must never be
        called for a row whose claim could still be rolled back (that is how stock Odoo sends duplicates)."""
        # History readers may read SMS, not push them to a provider (stock Odoo: system only).
        self.check_access("write")
        gateway_sms = self.filtered("gateway_account_id")
        others = self - gateway_sms
        if others:
            super(SmsSms, others).send(
                unlink_failed=unlink_failed,
                unlink_sent=unlink_sent,
                auto_commit=auto_commit,
                raise_exception=raise_exception,
            )
        gateway_sms = gateway_sms.filtered(lambda s: s.state == "outgoing" and not s.to_delete)
        if not gateway_sms:
            return
        testing = getattr(threading.current_thread(), "testing", False)
        if not auto_commit and not testing:
            self._gateway_trigger_cron()
            return
        batch_size = self._gateway_params()["batch_size"]
        ids = gateway_sms.ids
        for start in range(0, len(ids), batch_size):
            claimed = self.browse(ids[start : start + batch_size])._gateway_claim(auto_commit=auto_commit)
            claimed._gateway_dispatch(auto_commit=auto_commit)

    @api.model
    def _process_queue(self, ids=None):
        """Stock queue processing, minus the SMS waiting for a retry, after recovering interrupted sends."""
        self._gateway_recover_interrupted()
        domain = [
            ("state", "=", "outgoing"),
            ("to_delete", "!=", True),
            "|",
            ("next_try_date", "=", False),
            ("next_try_date", "<=", fields.Datetime.now()),
        ]
        filtered_ids = self.search(domain, limit=10000).ids
        ids = sorted(set(filtered_ids) & set(ids)) if ids else sorted(filtered_ids)
        try:
            auto_commit = not getattr(threading.current_thread(), "testing", False)
            return self.browse(ids).send(unlink_failed=False, unlink_sent=True, auto_commit=auto_commit)
        except Exception:
            _logger.exception("Failed processing SMS queue")
        return None

    def _send(self, unlink_failed=False, unlink_sent=True, raise_exception=False):
        gateway_sms = self.filtered("gateway_account_id")
        iap_sms = self - gateway_sms
        if iap_sms:
            super(SmsSms, iap_sms)._send(
                unlink_failed=unlink_failed, unlink_sent=unlink_sent, raise_exception=raise_exception
            )
        if gateway_sms:
            gateway_sms._gateway_dispatch()

    def _gateway_auto_commit(self):
        return self.env.context.get("sms_gateway_auto_commit") and not getattr(
            threading.current_thread(), "testing", False
        )

    def _gateway_claim(self):
        """Take the queued SMS of this batch that no other dispatch run holds and mark them as being sent.

        The claim is committed before any provider call (when auto-committing), then the rows stay locked
        until the results are committed: a crash leaves them "being sent", never "queued" again."""
        if not self:
            return self
        self.flush_recordset()
        cr = self.env.cr
        cr.execute(
            "SELECT id FROM sms_sms WHERE id IN %s AND state = 'outgoing' ORDER BY id FOR UPDATE SKIP LOCKED",
            (tuple(self.ids),),
        )
        ids = [row[0] for row in cr.fetchall()]
        if not ids:
            return self.browse()
        cr.execute(
            """UPDATE sms_sms SET state = 'process', claimed_at = (now() at time zone 'UTC'),
                      attempt_count = COALESCE(attempt_count, 0) + 1, next_try_date = NULL
                WHERE id IN %s""",
            (tuple(ids),),
        )
        claimed = self.browse(ids)
        claimed.invalidate_recordset(["state", "claimed_at", "attempt_count", "next_try_date"])
        if self._gateway_auto_commit():
            cr.commit()  # pylint: disable=invalid-commit  # the claim must be durable before the provider call
            cr.execute("SELECT id FROM sms_sms WHERE id IN %s FOR UPDATE", (tuple(ids),))
        return claimed

    def _gateway_dispatch(self):
        """Send gateway SMS through their provider account; every SMS ends sent, retried or in error."""
        to_reserve = self.filtered(lambda s: s.state == "outgoing" and not s.credit_charged)
        to_reserve._gateway_reserve_credit()  # explicit resends: their credit was refunded
        claimed = self.filtered(lambda s: s.state == "outgoing")._gateway_claim()
        for account, account_sms in claimed.grouped("gateway_account_id").items():
            account = account.sudo()
            if not account.active:
                account = self.env["sms.gateway.account"]._get_for_company(account.company_id) or account
            if not account.active:
                account_sms._gateway_apply_failures(
                    {sms.uuid: ("sms_acc", _("No active SMS provider account.")) for sms in account_sms}
                )
                continue
            messages = [
                OutgoingSms(
                    ref=sms.uuid,
                    number=sms.number,
                    body=sms.body or "",
                    unicode=sms.sms_encoding == "UCS-2",
                    segments=sms.sms_segment_count or 1,
                )
                for sms in account_sms
            ]
            connector, owned = account._gateway_run_connector()
            try:
                results = send_all(
                    connector, messages, max_concurrency=account.max_concurrency or 1, rate_limit=account.rate_limit
                )
            finally:
                if owned:  # no dispatch run (direct call): close the session, keep the balance it reported
                    account._gateway_end_run({account.id: connector}, fetch_balance=False)
            account_sms._gateway_apply_results(account, results)
        if claimed and self._gateway_auto_commit():
            self.env.cr.commit()  # pylint: disable=invalid-commit  # results of a provider call are never lost

    def _gateway_apply_results(self, account, results):
        by_ref = {result.ref: result for result in results}
        successes = [
            (sms.id, by_ref[sms.uuid].provider_id) for sms in self if by_ref.get(sms.uuid, None) and by_ref[sms.uuid].ok
        ]
        failures = {}
        for sms in self:
            result = by_ref.get(sms.uuid)
            if result is None:
                failures[sms.uuid] = ("sms_server", _("The provider gave no answer for this SMS."))
            elif not result.ok:
                failures[sms.uuid] = (result.failure_type, result.error_message)
        if account != self.gateway_account_id:
            self.write({"gateway_account_id": account.id})
        if successes:
            execute_values(
                self.env.cr._obj,
                """UPDATE sms_sms SET state = 'pending', provider_message_id = v.provider_id,
                          sent_date = (now() at time zone 'UTC'), failure_type = NULL, error_message = NULL
                     FROM (VALUES %s) AS v(id, provider_id) WHERE sms_sms.id = v.id""",
                successes,
                page_size=1000,
            )
            sent = self.browse([sms_id for sms_id, _provider_id in successes])
            sent.invalidate_recordset(["state", "provider_message_id", "sent_date", "failure_type", "error_message"])
            sent.sms_tracker_id._action_update_from_sms_state("pending")
        if failures:
            self.filtered(lambda s: s.uuid in failures)._gateway_apply_failures(failures)
        self._gateway_settle_moves()
        self.mail_message_id._notify_message_notification_update()

    def _gateway_apply_failures(self, failures):
        """``failures``: {uuid: (failure_type, message)}. Transient failures are retried with backoff while
        attempts remain; the others end in error and their credit is refunded."""
        max_attempts = int(self.env["ir.config_parameter"].sudo().get_param("sms_gateway.max_attempts", 4))
        retry, final = self.browse(), self.browse()
        for sms in self:
            failure_type, _message = failures[sms.uuid]
            if failure_type in TRANSIENT_FAILURES and sms.attempt_count < max_attempts:
                retry |= sms
            else:
                final |= sms
        now = fields.Datetime.now()
        for sms in retry:
            failure_type, message = failures[sms.uuid]
            # exponential backoff with jitter: 1, 2, 4... minutes, +-25%
            delay = 60 * 2 ** max(sms.attempt_count - 1, 0) * random.uniform(0.75, 1.25)
            sms.write(
                {
                    "state": "outgoing",
                    "failure_type": failure_type,
                    "error_message": message,
                    "next_try_date": now + timedelta(seconds=delay),
                }
            )
        if retry:
            cron = self.env.ref("sms.ir_cron_sms_scheduler_action", raise_if_not_found=False)
            if cron:
                cron.sudo()._trigger(at=min(retry.mapped("next_try_date")))
        groups = tools.groupby(final, key=lambda s: failures[s.uuid])
        for (failure_type, message), sms_list in groups:
            failed = self.browse([sms.id for sms in sms_list])
            failed.write({"state": "error", "failure_type": failure_type, "error_message": message})
            failed.sms_tracker_id._action_update_from_sms_state("error", failure_type=failure_type)
        final._gateway_refund(_("Refund: SMS not sent"))

    def _gateway_refund(self, reference):
        """Give back the credit of SMS that were not sent (one refund move per company)."""
        charged = self.filtered("credit_charged")
        Move = self.env["sms.credit.move"].sudo()
        for company, company_sms in charged.grouped("company_id").items():
            Move.create(
                {
                    "company_id": company.id,
                    "move_type": "refund",
                    "quantity": sum(company_sms.mapped("credit_charged")),
                    "sms_count": len(company_sms),
                    "sms_id": company_sms.id if len(company_sms) == 1 else False,
                    "reference": reference,
                }
            )
        charged.write({"credit_charged": 0})
        self._gateway_settle_moves()

    def _gateway_settle_moves(self):
        """Mark consumption moves done once none of their SMS waits for the provider any more."""
        moves = self.credit_move_id.filtered(lambda m: m.state == "reserved")
        if not moves:
            return
        self.flush_model(["state", "credit_move_id"])
        self.env.cr.execute(
            "SELECT DISTINCT credit_move_id FROM sms_sms WHERE credit_move_id IN %s AND state IN %s",
            (tuple(moves.ids), PENDING_STATES),
        )
        still_pending = {row[0] for row in self.env.cr.fetchall()}
        moves.filtered(lambda m: m.id not in still_pending).sudo().write({"state": "done"})

    def _gateway_recover_interrupted(self):
        """SMS left "being sent" by a dispatch run that died are never resent blindly: they are flagged for a
        manager, who can resend them explicitly; their credit is refunded."""
        stale = fields.Datetime.now() - timedelta(minutes=10)
        self.env.cr.execute(
            """SELECT id FROM sms_sms WHERE state = 'process' AND gateway_account_id IS NOT NULL
                  AND claimed_at < %s FOR UPDATE SKIP LOCKED""",
            (stale,),
        )
        ids = [row[0] for row in self.env.cr.fetchall()]
        if ids:
            interrupted = self.browse(ids)
            message = self._gateway_failure_messages()["sms_interrupted"]
            interrupted._gateway_apply_failures({sms.uuid: ("sms_interrupted", message) for sms in interrupted})
            _logger.warning("%s SMS were found interrupted while being sent; flagged, not resent.", len(ids))

    # ------------------------------------------------------------------
    # History retention
    # ------------------------------------------------------------------
    @api.autovacuum
    def _gc_gateway_history(self):
        companies = self.env["res.company"].sudo().search([("sms_history_retention_days", ">", 0)])
        for company in companies:
            limit_date = fields.Datetime.now() - timedelta(days=company.sms_history_retention_days)
            old = self.sudo().search(
                [
                    ("company_id", "=", company.id),
                    ("create_date", "<", limit_date),
                    ("state", "not in", PENDING_STATES),
                ]
            )
            old.unlink()
            _logger.info(
                "Deleted %s SMS older than %s days (company %s)",
                len(old),
                company.sms_history_retention_days,
                company.id,
            )
