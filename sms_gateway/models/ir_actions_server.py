from odoo import models


class IrActionsServer(models.Model):
    _inherit = "ir.actions.server"

    def _run_action_sms_multi(self, eval_context=None):
        """Stock "Send SMS" server action (also what automation rules run), minus the composer's interactive
        checks: an automated send must never break the transaction that triggered it. SMS the company cannot
        pay for are recorded in error "Insufficient credit" (and the SMS managers told once), invalid numbers
        in error too. SMS queued by this action show its name as origin in the history."""
        if not self.sms_template_id or self._is_recompute():
            return False
        records = eval_context.get("records") or eval_context.get("record")
        if not records:
            return False
        composer = (
            self.env["sms.composer"]
            .with_context(
                sms_origin=self.name,
                default_res_model=records._name,
                default_res_ids=records.ids,
                default_composition_mode="comment" if self.sms_method == "comment" else "mass",
                default_template_id=self.sms_template_id.id,
                default_mass_keep_log=self.sms_method == "note",
            )
            .create({})
        )
        composer._action_send_sms()
        return False
