from markupsafe import escape

from odoo import models

from ..tools.bulk_insert import can_copy_rows, insert_row_copies


class MailThread(models.AbstractModel):
    _inherit = "mail.thread"

    def _message_sms(self, body, *args, **kwargs):
        # Refuse before anything is posted, with the SMS-specific message.
        self.env["sms.sms"]._sms_check_send_rights()
        return super()._message_sms(body, *args, **kwargs)

    def _message_log_batch(self, bodies, subject=False, author_id=None, email_from=None, **kwargs):
        """The logs of a mass SMS send (context ``sms_gateway_log_copies``, set by the composer): the first
        written by Odoo, the others copies of its row with their record and text, in one statement (the ORM's
        create, HTML sanitising included, costs about a millisecond per log)."""
        plain = not (kwargs.get("partner_ids") or kwargs.get("attachment_ids") or kwargs.get("tracking_value_ids"))
        if not self.env.context.get("sms_gateway_log_copies") or len(self) < 2 or not plain:
            return super()._message_log_batch(bodies, subject, author_id, email_from, **kwargs)
        first, rest = self[:1], self[1:]
        first_body = bodies.get(first.id, "")
        template = super(MailThread, first)._message_log_batch(
            {first.id: first_body}, subject, author_id, email_from, **kwargs
        )
        rows = [{"res_id": res_id, "body": escape(bodies.get(res_id, ""))} for res_id in rest.ids]
        if all(row["body"] == escape(first_body) for row in rows):
            rows = [{"res_id": row["res_id"]} for row in rows]  # one text for all: copied with the row
        Message = self.env["mail.message"].sudo()
        if not can_copy_rows(Message, rows[0]):
            return template + super(MailThread, rest)._message_log_batch(
                bodies, subject, author_id, email_from, **kwargs
            )
        copies = insert_row_copies(template, rows)
        rest.invalidate_recordset(["message_ids"])
        return template + copies
