from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError


class SmsCreditMove(models.Model):
    """One row of a company's SMS credit ledger.

    The balance is the sum of ``quantity`` over the company's rows: top-ups,
    refunds and positive adjustments add; consumption (reserved when an SMS is
    queued, done once the provider answered) subtracts. Rows are never edited
    afterwards, so the balance cannot drift.
    """

    _name = "sms.credit.move"
    _description = "SMS Credit Move"
    _order = "date desc, id desc"

    company_id = fields.Many2one(
        "res.company", required=True, index=True, readonly=True, default=lambda self: self.env.company
    )
    move_type = fields.Selection(
        [
            ("topup", "Top-up"),
            ("consumption", "Consumption"),
            ("refund", "Refund"),
            ("adjustment", "Manual adjustment"),
        ],
        string="Type",
        required=True,
        default="topup",
    )
    state = fields.Selection(
        [("reserved", "Reserved"), ("done", "Done")],
        required=True,
        default="done",
        help="Consumption stays reserved while its SMS wait for the provider's answer.",
    )
    quantity = fields.Integer("SMS units", required=True, help="Positive adds credit, negative takes it.")
    user_id = fields.Many2one("res.users", "User", default=lambda self: self.env.user, readonly=True)
    date = fields.Datetime(default=fields.Datetime.now, required=True, readonly=True)
    sms_id = fields.Many2one("sms.sms", "SMS", index="btree_not_null", ondelete="set null", readonly=True)
    sms_count = fields.Integer("Number of SMS", readonly=True, help="Number of SMS this move is for.")
    reference = fields.Char(readonly=True)
    note = fields.Char()

    def init(self):
        # One row per company, bumped by every credit withdrawal (see res.company._sms_lock_credit).
        self.env.cr.execute(
            """CREATE TABLE IF NOT EXISTS sms_gateway_credit_lock (
                    company_id INTEGER PRIMARY KEY REFERENCES res_company(id) ON DELETE CASCADE,
                    version BIGINT NOT NULL DEFAULT 0)"""
        )

    @api.constrains("move_type", "quantity")
    def _check_quantity_sign(self):
        for move in self:
            if move.move_type in ("topup", "refund") and move.quantity <= 0:
                raise ValidationError(_("A top-up or a refund must add a positive number of SMS."))
            if move.move_type == "consumption" and move.quantity > 0:
                raise ValidationError(_("A consumption must take credit, not add it."))
            if move.move_type == "adjustment" and not move.quantity:
                raise ValidationError(_("An adjustment must change the balance."))

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            for vals in vals_list:
                if vals.get("move_type", "topup") not in ("topup", "adjustment"):
                    raise UserError(_("Only top-ups and manual adjustments can be recorded by hand."))
        # A manual withdrawal is checked under the same lock as SMS reservations.
        for company_id in {v.get("company_id") or self.env.company.id for v in vals_list if v.get("quantity", 0) < 0}:
            company = self.env["res.company"].browse(company_id)
            needed = -sum(
                v["quantity"]
                for v in vals_list
                if (v.get("company_id") or self.env.company.id) == company_id
                and v.get("quantity", 0) < 0
                and v.get("move_type") != "consumption"
            )
            if needed and needed > company._sms_lock_credit():
                raise UserError(
                    _(
                        "This adjustment would take the SMS balance of %(company)s below zero.",
                        company=company.display_name,
                    )
                )
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su and set(vals) - {"note"}:
            raise UserError(_("Credit moves cannot be changed; record an adjustment instead."))
        return super().write(vals)

    def unlink(self):
        if not self.env.su:
            raise UserError(_("Credit moves cannot be deleted; record an adjustment instead."))
        return super().unlink()
