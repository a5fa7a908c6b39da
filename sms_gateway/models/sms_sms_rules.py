# Sending rules applied when SMS are queued, on their values (one set-based query per company and create call):
# the cap per recipient (over-cap SMS are inserted canceled, never charged) and the sending window (marketing SMS
# queued outside it are inserted with ``next_try_date`` at the next opening: the dispatch claim already skips
# rows whose ``next_try_date`` is in the future). Then the history pseudonymised after a while (autovacuum).

import logging
import threading
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.tools import SQL
from odoo.tools.misc import format_datetime

from ..tools.sending_window import day_and_week_start, window_opening
from .sms_credit_move import PENDING_STATES

_logger = logging.getLogger(__name__)

# SMS pseudonymised per transaction
PSEUDONYMIZE_CHUNK = 10000
# States whose SMS count towards the cap per recipient: queued, being sent or sent (not failed, not canceled)
CAPPED_STATES = ("outgoing", "process", "pending", "sent")
# The SQL twin of tools.sending_window.mask_number
MASK_NUMBER_SQL = """CASE WHEN length(number) > 6
    THEN left(number, 4) || repeat('*', length(number) - 6) || right(number, 2)
    ELSE repeat('*', length(number)) END"""


class SmsSms(models.Model):
    _inherit = "sms.sms"

    failure_type = fields.Selection(selection_add=[("sms_recipient_cap", "Cap per recipient reached")])
    sms_kind = fields.Selection(
        [("functional", "Functional"), ("marketing", "Marketing")],
        "Kind",
        readonly=True,
        help="Marketing SMS wait for the company's sending window; functional ones (reminders, one-to-one "
        "messages) leave at once.",
    )
    window_opens_at = fields.Datetime("Waiting for the sending window until", readonly=True, copy=False)
    pseudonymized = fields.Boolean("Pseudonymised", readonly=True, copy=False)

    def init(self):
        super().init()
        # the cap per recipient counts a chunk's numbers in one query over this index
        self.env.cr.execute(
            """CREATE INDEX IF NOT EXISTS sms_sms_gateway_cap_index ON sms_sms (company_id, number, create_date)
                WHERE state IN ('outgoing', 'process', 'pending', 'sent')"""
        )
        # the daily pseudonymisation finds what is left to do without reading the done history
        self.env.cr.execute(
            """CREATE INDEX IF NOT EXISTS sms_sms_gateway_pseudonymize_index ON sms_sms (company_id, create_date)
                WHERE pseudonymized IS NOT TRUE"""
        )

    @api.depends("failure_type", "error_message", "state", "window_opens_at", "next_try_date")
    def _compute_error_display(self):
        super()._compute_error_display()
        now = fields.Datetime.now()
        for sms in self:
            waiting = sms.window_opens_at and sms.window_opens_at == sms.next_try_date  # a resend clears the latter
            if sms.state == "outgoing" and waiting and sms.window_opens_at > now:
                sms.error_display = _(
                    "Waiting for the sending window (%(opening)s)", opening=sms._gateway_format_opening()
                )

    def _gateway_format_opening(self, opening=None):
        """``Mon 08:00`` (in the reader's language and time zone; the date as well when it is not this week)."""
        opening = opening or self.window_opens_at
        tz = self.env.context.get("tz") or self.env.user.tz or self.company_id.sms_window_tz or "UTC"
        dt_format = "EEE HH:mm" if opening - fields.Datetime.now() < timedelta(days=6) else "EEE d MMM HH:mm"
        return format_datetime(self.env, opening, tz=tz, dt_format=dt_format)

    # ------------------------------------------------------------------
    # Rules applied on the values of new SMS (called by _gateway_before_create, before the reservation)
    # ------------------------------------------------------------------
    @api.model
    def _gateway_apply_sending_rules(self, vals_list):
        """Kind, cap per recipient and sending window of the SMS about to be queued, written in their values."""
        default_kind = self.env.context.get("sms_kind") or "functional"
        by_company = {}
        for vals in vals_list:
            if not vals.get("gateway_account_id"):
                continue
            vals.setdefault("sms_kind", default_kind)
            if vals.get("company_id"):
                by_company.setdefault(vals["company_id"], []).append(vals)
        if not by_company:
            return
        now = fields.Datetime.now()
        for company_id, company_vals in by_company.items():
            company = self.env["res.company"].sudo().browse(company_id)
            if company.sms_cap_per_day or company.sms_cap_per_week:
                self._gateway_apply_cap(
                    company, [vals for vals in company_vals if vals.get("state", "outgoing") == "outgoing"], now
                )
            if company.sms_window_enabled:
                self._gateway_apply_window(company, company_vals, now)

    @api.model
    def _gateway_window_opening(self, company, now=None, kind="marketing"):
        """When an SMS of ``kind`` queued at ``now`` may leave ``company``: None at once, else naive UTC."""
        if not company.sms_window_enabled or (kind != "marketing" and company.sms_window_scope != "all"):
            return None
        return window_opening(
            now or fields.Datetime.now(),
            company.sms_window_tz,
            company.sms_window_start,
            company.sms_window_end,
            company.sms_window_days,
            company.sms_window_holidays,
        )

    @api.model
    def _gateway_apply_window(self, company, vals_list, now):
        opening = self._gateway_window_opening(company, now)
        if not opening:
            return
        # the SMS not queued (canceled, refused) get the same dates: the rows of a big send then differ in
        # fewer columns (tools/bulk_insert.py copies what differs), and a resend clears them
        waiting = [vals for vals in vals_list if vals["sms_kind"] == "marketing" or company.sms_window_scope == "all"]
        for vals in waiting:
            vals.update(next_try_date=opening, window_opens_at=opening)
        if any(vals.get("state", "outgoing") == "outgoing" for vals in waiting):
            self._gateway_trigger_cron(at=opening)  # the queue wakes at the opening

    @api.model
    def _gateway_hold_for_window(self, rows, now):
        """The ids among ``rows`` (id, company id, kind) about to be claimed that may not leave at ``now``:
        SMS queued while their company's window was open but dispatched after it closed (a long send, a
        backlog, a retry) wait for the next opening, as if they had been queued now."""
        held = {}
        Company = self.env["res.company"].sudo()
        for company_id in {company_id for _sms_id, company_id, _kind in rows if company_id}:
            company = Company.browse(company_id)
            opening = self._gateway_window_opening(company, now)
            if not opening:
                continue
            every_kind = company.sms_window_scope == "all"
            held.setdefault(opening, []).extend(
                sms_id for sms_id, sms_company_id, kind in rows
                if sms_company_id == company_id and (every_kind or kind == "marketing")
            )  # fmt: skip
        for opening, sms_ids in held.items():
            if sms_ids:
                self.env.cr.execute(
                    "UPDATE sms_sms SET next_try_date = %s, window_opens_at = %s WHERE id = ANY(%s)",
                    (opening, opening, sms_ids),
                )
                self._gateway_trigger_cron(at=opening)
        return {sms_id for sms_ids in held.values() for sms_id in sms_ids}

    @api.model
    def _gateway_cap_counts(self, company, numbers, now):
        """{number: (SMS today, SMS this week)} already queued or sent to ``numbers`` by ``company`` (every
        origin), in one query."""
        if not numbers:
            return {}
        day_start, week_start = day_and_week_start(now, company.sms_window_tz)
        since = min(day_start, week_start) if company.sms_cap_per_week else day_start
        self.flush_model(["state", "number", "company_id"])
        rows = self.env.execute_query(
            SQL(
                """SELECT number, COUNT(*) FILTER (WHERE create_date >= %s), COUNT(*)
                     FROM sms_sms
                    WHERE company_id = %s AND number = ANY(%s) AND create_date >= %s AND state IN %s
                 GROUP BY number""",
                day_start,
                company.id,
                list(numbers),
                since,
                CAPPED_STATES,
            )
        )
        return {number: (today, week) for number, today, week in rows}

    @api.model
    def _gateway_cap_refusals(self, company, numbers, now):
        """``{position: message}`` of the ``numbers`` (in the order they would be queued, False for none)
        that ``company``'s cap per recipient refuses at ``now``: what is already queued or sent counts, and
        so do the earlier ones of ``numbers``. One query; the composer's recap counts with it as well."""
        per_day, per_week = company.sms_cap_per_day, company.sms_cap_per_week
        if not (per_day or per_week):
            return {}
        found = self._gateway_cap_counts(company, {number for number in numbers if number}, now)
        counts = {number: list(value) for number, value in found.items()}
        refusals = {}
        for position, number in enumerate(numbers):
            if not number:
                continue
            today, week = counts.setdefault(number, [0, 0])
            if per_day and today >= per_day:
                refusals[position] = _(
                    "Not sent: this number already received %(count)s SMS today, the limit is %(limit)s",
                    count=today,
                    limit=per_day,
                )
            elif per_week and week >= per_week:
                refusals[position] = _(
                    "Not sent: this number already received %(count)s SMS this week, the limit is %(limit)s",
                    count=week,
                    limit=per_week,
                )
            else:
                counts[number] = [today + 1, week + 1]
        return refusals

    @api.model
    def _gateway_apply_cap(self, company, vals_list, now):
        """Over-cap SMS are queued canceled, with why, and never charged. Two sends queued at once cannot both
        pass the cap: the company's credit lock is bumped (``sms.credit.move._lock_credit``), so the later of
        two concurrent transactions gets a serialization failure and is retried on a snapshot that counts the
        SMS the first one committed."""
        refusals = self._gateway_cap_refusals(company, [vals.get("number") for vals in vals_list], now)
        for position, message in refusals.items():
            vals_list[position].update(state="canceled", failure_type="sms_recipient_cap", error_message=message)
        if any(vals.get("number") and position not in refusals for position, vals in enumerate(vals_list)):
            self.env["sms.credit.move"]._lock_credit(company)

    @api.model
    def _gateway_demo_night_send(self, partner_id):
        """Demo data: a marketing SMS queued on a Friday at 23:00 (Paris), waiting for Monday 08:00."""
        company = self.env.ref("base.main_company")
        partner = self.env["res.partner"].browse(partner_id)
        today = fields.Date.context_today(self.with_context(tz="Europe/Paris"))
        friday = today + timedelta(days=(4 - today.weekday()) % 7 or 7)
        night = day_and_week_start(fields.Datetime.to_datetime(friday), "Europe/Paris")[0] + timedelta(hours=23)
        opening = self._gateway_window_opening(company, night)
        sms = self.with_context(sms_kind="marketing", sms_origin=_("Demo: marketing send at 23:00")).create(
            {"number": partner.mobile, "partner_id": partner.id, "body": "Soldes d'hiver : -20 % ce week-end !"}
        )
        if opening:
            sms.write({"next_try_date": opening, "window_opens_at": opening})
        return sms

    # ------------------------------------------------------------------
    # History pseudonymised after the company's period (deleted later by _gc_gateway_history)
    # ------------------------------------------------------------------
    @api.autovacuum
    def _gc_gateway_pseudonymize(self):
        """Pseudonymise the SMS older than their company's period: number masked, text, contact, record and
        chatter message unlinked, error text erased; company, account, origin, send, segments, cost, state and
        ledger links kept, so that consumption reports stay true. By chunks, committed one by one (not under
        a test: its transaction must stay whole)."""
        companies = self.env["res.company"].sudo().search([("sms_pseudonymize_days", ">", 0)])
        if not companies:
            return 0
        now = fields.Datetime.now()
        limits = SQL(" OR ").join(
            SQL(
                "(company_id = %s AND create_date < %s)",
                company.id,
                now - timedelta(days=company.sms_pseudonymize_days),
            )
            for company in companies
        )
        auto_commit = not getattr(threading.current_thread(), "testing", False)
        self.env["sms.sms"].flush_model()
        done = 0
        while True:
            rows = self.env.execute_query(
                SQL(
                    """WITH chunk AS (
                            SELECT id FROM sms_sms
                             WHERE pseudonymized IS NOT TRUE AND state NOT IN %s AND (%s)
                             ORDER BY id LIMIT %s FOR NO KEY UPDATE SKIP LOCKED)
                       UPDATE sms_sms s
                          SET number = %s, body = NULL, partner_id = NULL, mail_message_id = NULL,
                              send_res_id = NULL, error_message = NULL, pseudonymized = TRUE
                         FROM chunk WHERE s.id = chunk.id
                    RETURNING s.id, s.number""",
                    PENDING_STATES,
                    limits,
                    PSEUDONYMIZE_CHUNK,
                    SQL(MASK_NUMBER_SQL),
                )
            )
            if rows:
                # the chatter's notification of each SMS keeps the number too
                self.env.execute_query(
                    SQL(
                        """UPDATE mail_notification n SET sms_number = masked.number
                             FROM unnest(%s::int[], %s::varchar[]) AS masked(id, number)
                            WHERE n.sms_id_int = masked.id AND n.notification_type = 'sms'""",
                        [row[0] for row in rows],
                        [row[1] for row in rows],
                    )
                )
            done += len(rows)
            if auto_commit:
                self.env.cr.commit()  # pylint: disable=invalid-commit  # one chunk at a time
            if len(rows) < PSEUDONYMIZE_CHUNK:
                break
        self.env["sms.sms"].invalidate_model()
        self.env["mail.notification"].invalidate_model(["sms_number"])
        _logger.info("Pseudonymised %s SMS", done)
        return done
