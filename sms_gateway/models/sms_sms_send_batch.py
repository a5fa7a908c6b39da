from odoo import api, fields, models


class SmsSms(models.Model):
    _inherit = "sms.sms"

    send_batch_id = fields.Many2one(
        "sms.send.batch", "Send", readonly=True, index="btree_not_null", ondelete="set null", copy=False
    )

    @api.model_create_multi
    def create(self, vals_list):
        batch_id = self.env.context.get("sms_send_batch_id")
        if batch_id:
            for vals in vals_list:
                vals.setdefault("send_batch_id", batch_id)
        return super().create(vals_list)
