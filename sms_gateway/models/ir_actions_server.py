from odoo import models


class IrActionsServer(models.Model):
    _inherit = "ir.actions.server"

    def _run_action_sms_multi(self, eval_context=None):
        """Stock "Send SMS" server action (also what automation rules run), marked automated: the composer
        skips its interactive checks, as an automated send must never break the transaction that triggered
        it. SMS the company cannot pay for are recorded in error "Insufficient credit" (and the SMS managers
        told once), invalid numbers in error too. SMS queued by this action show its name as origin."""
        action = self.with_context(sms_origin=self.name, sms_gateway_automated=True)
        return super(IrActionsServer, action)._run_action_sms_multi(eval_context=eval_context)
