from odoo import api, fields, models


class SmsSms(models.Model):
    """Federations on the outbox: which company paid each SMS (its own ledger or its structure's pool) and
    the accounts that may send for its company (its own, then its structure's shared ones)."""

    _inherit = "sms.sms"

    credit_company_id = fields.Many2one(
        "res.company",
        "Charged to",
        readonly=True,
        help="The company whose SMS credit paid this SMS: its own company, or the structure whose pool it draws on.",
    )

    @api.model
    def _gateway_company_accounts(self, company_id):
        return self.env["res.company"].sudo().browse(company_id)._sms_gateway_accounts()
