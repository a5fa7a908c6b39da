"""The outbox seen from the replies: an index to find the SMS a reply answers, and skipped opted-out numbers
shown as such in the History."""

from odoo import api, fields, models


class SmsSms(models.Model):
    _inherit = "sms.sms"

    # a reply is matched on the number it comes from (sms_inbound._gateway_find_answered_sms)
    number = fields.Char(index="btree_not_null")

    @api.model
    def _gateway_failure_messages(self):
        opted_out = self.env._("Opted out")
        return {**super()._gateway_failure_messages(), "sms_blacklist": opted_out, "sms_optout": opted_out}
