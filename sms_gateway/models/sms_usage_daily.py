import logging
from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

# Days summarised again at each refresh: late delivery reports, refunds and resends change recent SMS.
REFRESH_DAYS = 7
# the last SMS id the summary holds (the report reads the later ones live, by the primary key) and the day of
# the last refresh
WATERMARK_KEY = "sms_gateway.usage_daily_until_id"
WATERMARK_DAY_KEY = "sms_gateway.usage_daily_until"
# what an SMS is counted by, in the summary and in the live part of the report
DIMENSIONS = """s.company_id, c.parent_id, COALESCE(s.credit_company_id, s.company_id), s.gateway_account_id,
                s.create_uid, s.origin_label, s.state"""


class SmsUsageDaily(models.Model):
    """The SMS history summarised per day (company, account, user, origin, state): what the usage report
    reads for the SMS up to the watermark, so that a history of millions of SMS answers in well under a
    second. Rebuilt for the last days by an hourly cron (``_cron_refresh``); the SMS created since are read
    live (``sms.usage.report``). Figures stay when the history retention deletes old SMS."""

    _name = "sms.usage.daily"
    _description = "SMS usage per day"
    _log_access = False
    _order = "day desc"

    day = fields.Date(required=True, index=True)
    company_id = fields.Many2one("res.company", required=True, ondelete="cascade")
    structure_id = fields.Many2one("res.company", ondelete="set null")
    credit_company_id = fields.Many2one("res.company", ondelete="set null")
    gateway_account_id = fields.Many2one("sms.gateway.account", ondelete="set null")
    user_id = fields.Many2one("res.users", ondelete="set null")
    origin_label = fields.Char()
    state = fields.Char()
    sms_count = fields.Integer()
    segment_count = fields.Integer()
    credit = fields.Integer()

    @api.model
    def _cron_refresh(self):
        self._refresh()

    @api.model
    def _refresh(self):
        """Summarise again the SMS of the days since the last refresh (at least the last ``REFRESH_DAYS``:
        their state and cost still change), up to the last SMS created, and move the watermark there, in one
        transaction."""
        today = fields.Datetime.now().date()  # days in UTC, as create_date
        Param = self.env["ir.config_parameter"].sudo()
        cr = self.env.cr
        self.env["sms.sms"].flush_model()
        # the summary is read under the watermark: two refreshes never run at once
        cr.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (WATERMARK_KEY,))
        last_day = fields.Date.to_date(Param.get_param(WATERMARK_DAY_KEY) or False)
        if last_day:
            start = min(last_day, today) - timedelta(days=REFRESH_DAYS)
        else:
            cr.execute("SELECT MIN(create_date)::date FROM sms_sms WHERE gateway_account_id IS NOT NULL")
            start = cr.fetchone()[0] or today
        cr.execute("SELECT COALESCE(MAX(id), 0) FROM sms_sms")
        until_id = cr.fetchone()[0]
        cr.execute("DELETE FROM sms_usage_daily WHERE day >= %s", (start,))
        cr.execute(
            SQL(
                """INSERT INTO sms_usage_daily (day, company_id, structure_id, credit_company_id, gateway_account_id,
                                                user_id, origin_label, state, sms_count, segment_count, credit)
                   SELECT s.create_date::date, %(dimensions)s, COUNT(*),
                          SUM(COALESCE(s.sms_segment_count, 0)), SUM(COALESCE(s.credit_charged, 0))
                     FROM sms_sms s JOIN res_company c ON c.id = s.company_id
                    WHERE s.gateway_account_id IS NOT NULL AND s.create_date >= %(start)s AND s.id <= %(until)s
                    GROUP BY s.create_date::date, %(dimensions)s""",
                dimensions=SQL(DIMENSIONS),
                start=start,
                until=until_id,
            )
        )
        rows = cr.rowcount
        cr.execute("ANALYZE sms_usage_daily")  # many rows changed at once: the report's plans need to know
        Param.set_param(WATERMARK_KEY, str(until_id))
        Param.set_param(WATERMARK_DAY_KEY, fields.Date.to_string(today))
        Param.flush_model()  # the report's view reads the watermark in SQL
        self.invalidate_model()
        _logger.info("SMS usage summarised from %s up to SMS %s: %s rows", start, until_id, rows)
