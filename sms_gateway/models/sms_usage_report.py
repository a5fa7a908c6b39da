from odoo import fields, models
from odoo.tools import SQL
from odoo.tools.sql import drop_view_if_exists


class SmsUsageReport(models.Model):
    """The SMS figures (count, segments, credits, amount to re-invoice) without their texts: what a structure's
    managers see of their members' SMS, for the dashboard, the pivot and graph views and the re-invoicing
    report. One row per SMS sent through a provider account (a view on ``sms_sms``)."""

    _name = "sms.usage.report"
    _description = "SMS Usage Report"
    _auto = False
    _order = "date desc"
    _rec_name = "date"

    date = fields.Datetime("Date", readonly=True)
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
    unit_price = fields.Float("Unit price", readonly=True, aggregator="avg", digits=(16, 5))
    amount = fields.Float("Amount to re-invoice", readonly=True, aggregator="sum", digits=(16, 2))

    def init(self):
        drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """CREATE OR REPLACE VIEW %s AS (
                    SELECT s.id AS id,
                           s.create_date AS date,
                           s.company_id AS company_id,
                           c.parent_id AS structure_id,
                           COALESCE(s.credit_company_id, s.company_id) AS credit_company_id,
                           s.gateway_account_id AS gateway_account_id,
                           s.create_uid AS user_id,
                           s.origin_label AS origin_label,
                           s.state AS state,
                           1 AS sms_count,
                           COALESCE(s.sms_segment_count, 0) AS segment_count,
                           COALESCE(s.credit_charged, 0) AS credit,
                           COALESCE(a.reinvoice_unit_price, 0) AS unit_price,
                           COALESCE(s.credit_charged, 0) * COALESCE(a.reinvoice_unit_price, 0) AS amount
                      FROM sms_sms s
                      JOIN res_company c ON c.id = s.company_id
                      LEFT JOIN sms_gateway_account a ON a.id = s.gateway_account_id
                     WHERE s.gateway_account_id IS NOT NULL
                )""",
                SQL.identifier(self._table),
            )
        )
