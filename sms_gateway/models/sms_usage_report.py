from odoo import fields, models
from odoo.tools import SQL
from odoo.tools.sql import drop_view_if_exists

from .sms_usage_daily import DIMENSIONS, WATERMARK_KEY


class SmsUsageReport(models.Model):
    """The SMS figures (count, segments, credits, amount to re-invoice) without their texts: what a structure's
    managers see of their members' SMS, for the dashboard, the pivot and graph views and the re-invoicing
    report. A view: the SMS up to the watermark from the daily summary (``sms.usage.daily``), the later ones
    summed live from ``sms_sms`` (found by their id)."""

    _name = "sms.usage.report"
    _description = "SMS Usage Report"
    _auto = False
    _order = "date desc"
    _rec_name = "date"

    date = fields.Date("Date", readonly=True)
    company_id = fields.Many2one("res.company", "Company", readonly=True)
    structure_id = fields.Many2one("res.company", "Structure", readonly=True)
    credit_company_id = fields.Many2one("res.company", "Charged to", readonly=True)
    gateway_account_id = fields.Many2one("sms.gateway.account", "Provider account", readonly=True)
    user_id = fields.Many2one("res.users", "User", readonly=True)
    origin_label = fields.Char("Origin", readonly=True)
    state = fields.Selection(
        [
            ("outgoing", "In Queue"),
            ("process", "Processing"),
            ("pending", "Sent"),
            ("sent", "Delivered"),
            ("error", "Error"),
            ("canceled", "Canceled"),
        ],
        readonly=True,
    )
    sms_count = fields.Integer("SMS", readonly=True, aggregator="sum")
    segment_count = fields.Integer("Segments", readonly=True, aggregator="sum")
    credit = fields.Integer("Credits", readonly=True, aggregator="sum")
    unit_price = fields.Float("Unit price", readonly=True, aggregator="max", digits=(16, 5))
    amount = fields.Float("Amount to re-invoice", readonly=True, aggregator="sum", digits=(16, 2))

    def init(self):
        drop_view_if_exists(self.env.cr, self._table)
        watermark = SQL(
            "COALESCE((SELECT value FROM ir_config_parameter WHERE key = %s)::integer, 0)",
            WATERMARK_KEY,
        )
        self.env.cr.execute(
            SQL(
                """CREATE OR REPLACE VIEW %(table)s AS (
                    SELECT u.id, u.day AS date, u.company_id, u.structure_id, u.credit_company_id,
                           u.gateway_account_id, u.user_id, u.origin_label, u.state, u.sms_count, u.segment_count,
                           u.credit, COALESCE(a.reinvoice_unit_price, 0) AS unit_price,
                           u.credit * COALESCE(a.reinvoice_unit_price, 0) AS amount
                      FROM sms_usage_daily u
                      LEFT JOIN sms_gateway_account a ON a.id = u.gateway_account_id
                    UNION ALL
                    SELECT -MIN(s.id), s.create_date::date, %(dimensions)s, COUNT(*),
                           SUM(COALESCE(s.sms_segment_count, 0)), SUM(COALESCE(s.credit_charged, 0)),
                           MAX(COALESCE(a.reinvoice_unit_price, 0)),
                           SUM(COALESCE(s.credit_charged, 0) * COALESCE(a.reinvoice_unit_price, 0))
                      FROM sms_sms s
                      JOIN res_company c ON c.id = s.company_id
                      LEFT JOIN sms_gateway_account a ON a.id = s.gateway_account_id
                     WHERE s.gateway_account_id IS NOT NULL AND s.id > %(watermark)s
                     GROUP BY s.create_date::date, %(dimensions)s
                )""",
                table=SQL.identifier(self._table),
                watermark=watermark,
                dimensions=SQL(DIMENSIONS),
            )
        )
