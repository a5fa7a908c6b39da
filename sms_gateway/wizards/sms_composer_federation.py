from odoo import models


class SmsComposer(models.TransientModel):
    _inherit = "sms.composer"

    def _sms_gateway_problems(self):
        """A send over the company's quota on its structure's pool, or over the user's monthly quota, is
        refused in the recap, before anything is queued."""
        problems = super()._sms_gateway_problems()
        if self.sms_gateway_active and self.sms_credit_needed:
            quota_problem = self.sms_company_id._sms_quota_problem(self.sms_credit_needed)
            if quota_problem:
                problems.append(quota_problem)
        return problems
