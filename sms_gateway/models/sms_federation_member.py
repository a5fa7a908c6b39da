from odoo import _, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL
from odoo.tools.sql import drop_view_if_exists

from .res_company_federation import FUNDING_SELECTION, QUOTA_PERIOD_SELECTION

# What a structure's SMS managers set for each member, written on the member company.
MEMBER_SETTINGS = ("sms_funding", "sms_quota", "sms_quota_period", "sms_low_balance_threshold")


class SmsFederationMember(models.Model):
    """A member (branch) of a structure, as the structure's SMS managers see it on one screen: its funding,
    quota, balance and figures, editable by them without access to the member company itself (a view on
    ``res_company``; what they change is written on the member company)."""

    _name = "sms.federation.member"
    _description = "SMS Federation Member"
    _auto = False
    _order = "structure_id, name"

    name = fields.Char("Member", readonly=True)
    company_id = fields.Many2one("res.company", "Member company", readonly=True)
    structure_id = fields.Many2one("res.company", "Structure", readonly=True)
    sms_funding = fields.Selection(FUNDING_SELECTION, "Funding")
    sms_quota = fields.Integer("Quota", help="SMS units the member may draw on the pool per period. 0: no limit.")
    sms_quota_period = fields.Selection(QUOTA_PERIOD_SELECTION, "Quota period")
    sms_low_balance_threshold = fields.Integer(
        "Low balance alert", help="The member's and the structure's SMS managers are alerted below this balance."
    )
    sms_credit_balance = fields.Integer("Balance", compute="_compute_figures")
    sms_quota_used = fields.Integer("Used this period", compute="_compute_figures")
    sms_quota_left = fields.Integer("Left this period", compute="_compute_figures")
    sms_month_credit = fields.Integer("Credits this month", compute="_compute_figures")
    sms_year_credit = fields.Integer("Credits this year", compute="_compute_figures")

    def init(self):
        drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """CREATE OR REPLACE VIEW %s AS (
                    SELECT c.id AS id, c.id AS company_id, c.name AS name, c.parent_id AS structure_id,
                           c.sms_funding, c.sms_quota, c.sms_quota_period, c.sms_low_balance_threshold
                      FROM res_company c
                     WHERE c.parent_id IS NOT NULL AND c.active
                )""",
                SQL.identifier(self._table),
            )
        )

    def _compute_figures(self):
        companies = self.env["res.company"].sudo().browse(self.ids)
        balances, _reserved = self.env["sms.credit.move"]._balances(companies)
        for member in self:
            company = companies.browse(member.id)
            period = company.sms_quota_period or "month"
            used = company._sms_member_usage(company._sms_period_start(period))
            # what its quota caps: what it and its own branches drew on the pool (as the ledger enforces)
            quota_used = used
            if company.sms_funding == "pool" and company.sms_quota:
                quota_used = company._sms_pool_usage(company._sms_period_start(period))
            member.sms_credit_balance = balances.get(company, 0)
            member.sms_quota_used = quota_used
            member.sms_quota_left = max(company.sms_quota - quota_used, 0) if company.sms_quota > 0 else 0
            member.sms_month_credit = (
                used if period == "month" else company._sms_member_usage(company._sms_period_start("month"))
            )
            member.sms_year_credit = (
                used if period == "year" else company._sms_member_usage(company._sms_period_start("year"))
            )

    def _check_structure_manager(self):
        """Only the SMS managers of a member's structure set its funding and quota (not the member's own)."""
        user = self.env.user
        if self.env.su:
            return
        if not user.has_group("sms_gateway.group_sms_manager"):
            raise AccessError(_("Only SMS managers of the structure may change the funding of its members."))
        outside = self.filtered(lambda m: m.structure_id not in user.company_ids)
        if outside:
            raise AccessError(
                _(
                    "Only SMS managers of %(structure)s may change the funding of %(member)s.",
                    structure=outside[0].structure_id.sudo().name,
                    member=outside[0].name,
                )
            )

    def write(self, vals):  # pylint: disable=method-required-super  # a view: written on the member company
        unknown = set(vals) - set(MEMBER_SETTINGS)
        if unknown:
            raise AccessError(_("Only the funding, quota and alert of a member can be changed here."))
        self.check_access("write")
        self._check_structure_manager()
        self.env["res.company"].sudo().browse(self.ids).write(vals)
        self.invalidate_recordset()
        return True

    def action_open_allocation(self):
        """The allocation wizard for these members, from their structure."""
        structure = self[:1].structure_id
        return {
            "type": "ir.actions.act_window",
            "name": _("Allocate SMS credit"),
            "res_model": "sms.credit.allocation",
            "view_mode": "form",
            "target": "new",
            "context": {
                "default_structure_id": structure.id,
                "default_member_ids": [(6, 0, self.filtered(lambda m: m.structure_id == structure).ids)],
            },
        }
