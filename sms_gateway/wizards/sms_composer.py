from odoo import _, models


class SmsComposer(models.TransientModel):
    _inherit = "sms.composer"

    def _action_send_sms(self):
        self.env["sms.sms"]._sms_check_send_rights()
        origin = self.env.context.get("sms_origin") or _("Manual send")
        return super(SmsComposer, self.with_context(sms_origin=origin))._action_send_sms()
