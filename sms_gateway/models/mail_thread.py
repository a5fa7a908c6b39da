from odoo import models


class MailThread(models.AbstractModel):
    _inherit = "mail.thread"

    def _message_sms(self, body, *args, **kwargs):
        # Refuse before anything is posted, with the SMS-specific message.
        self.env["sms.sms"]._sms_check_send_rights()
        return super()._message_sms(body, *args, **kwargs)
