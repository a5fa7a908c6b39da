from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError


class SmsCreditAllocation(models.TransientModel):
    """Allocate SMS credit from a structure to several of its members at once ("500 SMS to each of these 12
    schools"), or take unspent credit back, with the structure's balance before and after."""

    _name = "sms.credit.allocation"
    _description = "SMS Credit Allocation"

    structure_id = fields.Many2one(
        "res.company",
        "Structure",
        required=True,
        default=lambda self: self.env.company,
        domain=lambda self: [("id", "in", self.env.user.company_ids.ids), ("child_ids", "!=", False)],
    )
    direction = fields.Selection(
        [("allocate", "Allocate credit to the members"), ("take_back", "Take unspent credit back")],
        required=True,
        default="allocate",
    )
    member_ids = fields.Many2many(
        "sms.federation.member",
        string="Members",
        domain="[('structure_id', '=', structure_id)]",
    )
    quantity = fields.Integer("SMS per member", help="SMS units allocated to (or taken back from) each member.")
    take_all = fields.Boolean("All their unspent credit", help="Take back each member's whole available balance.")
    note = fields.Char()
    balance_before = fields.Integer("Structure's balance now", compute="_compute_balances")
    total = fields.Integer("Total", compute="_compute_balances")
    balance_after = fields.Integer("Structure's balance after", compute="_compute_balances")
    member_count = fields.Integer("Number of members", compute="_compute_balances")

    @api.depends("structure_id", "direction", "member_ids", "quantity", "take_all")
    def _compute_balances(self):
        for wizard in self:
            before = wizard.structure_id.sudo().sms_credit_balance if wizard.structure_id else 0
            quantities = wizard._quantities(check=False)
            total = sum(quantities.values())
            wizard.update(
                {
                    "balance_before": before,
                    "total": total,
                    "balance_after": before + total if wizard.direction == "take_back" else before - total,
                    "member_count": len(wizard.member_ids),
                }
            )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            quantity = vals.get("quantity")
            if quantity not in (None, False) and (isinstance(quantity, bool) or quantity != int(quantity)):
                raise UserError(_("An allocation is a whole number of SMS (%(quantity)s).", quantity=quantity))
        return super().create(vals_list)

    def _quantities(self, check=True):
        """``{member company: quantity}`` of this allocation."""
        self.ensure_one()
        companies = self.env["res.company"].sudo().browse(self.member_ids.ids)
        if self.direction == "take_back" and self.take_all:
            balances, _reserved = self.env["sms.credit.move"]._balances(companies)
            quantities = {company: balances.get(company, 0) for company in companies}
            if check:
                quantities = {company: quantity for company, quantity in quantities.items() if quantity > 0}
                if not quantities:
                    raise UserError(_("These members have no unspent credit to take back."))
            return quantities
        return dict.fromkeys(companies, self.quantity)

    def _check_rights(self):
        user = self.env.user
        if not user.has_group("sms_gateway.group_sms_manager"):
            raise AccessError(_("Only SMS managers can allocate SMS credit."))
        if self.structure_id not in user.company_ids:
            raise AccessError(
                _(
                    "Only SMS managers of %(structure)s can allocate its SMS credit.",
                    structure=self.structure_id.sudo().name,
                )
            )

    def action_allocate(self):
        self.ensure_one()
        self._check_rights()
        if self.direction == "take_back" and self.take_all:
            quantities = self._quantities()
        else:
            if self.quantity <= 0:
                raise UserError(
                    _("An allocation is a whole, positive number of SMS (%(quantity)s).", quantity=self.quantity)
                )
            quantities = self._quantities()
        self.env["sms.credit.move"]._allocate_many(
            self.structure_id, quantities, note=self.note, reverse=self.direction == "take_back"
        )
        total = sum(quantities.values())
        if self.direction == "take_back":
            message = _("%(total)s SMS taken back from %(count)s member(s).", total=total, count=len(quantities))
        else:
            message = _("%(total)s SMS allocated to %(count)s member(s).", total=total, count=len(quantities))
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"type": "success", "message": message, "next": {"type": "ir.actions.act_window_close"}},
        }
