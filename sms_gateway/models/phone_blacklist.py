from odoo import fields, models


class PhoneBlacklist(models.Model):
    _inherit = "phone.blacklist"

    # Set when the number opted out by SMS (a STOP reply or the provider's unsubscribe event): why and when,
    # and which company's SMS it answered (only that company's START lifts it).
    sms_optout_reason = fields.Char("Opt-out reason", readonly=True)
    sms_optout_date = fields.Datetime("Opted out on", readonly=True)
    sms_optout_company_id = fields.Many2one("res.company", "Opted out from", readonly=True, ondelete="set null")
    sms_optout_inbound_id = fields.Many2one("sms.inbound", "Opt-out SMS", readonly=True, ondelete="set null")
