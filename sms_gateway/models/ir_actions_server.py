from odoo import models


class IrActionsServer(models.Model):
    _inherit = "ir.actions.server"

    def _run_action_sms_multi(self, eval_context=None):
        # SMS queued by this action show its name as origin in the history.
        return super(IrActionsServer, self.with_context(sms_origin=self.name))._run_action_sms_multi(
            eval_context=eval_context
        )
