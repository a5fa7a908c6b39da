from odoo import api, models, tools


class SmsGatewayAccount(models.Model):
    """Cached lookup of the companies that send through the gateway.

    Queueing an SMS for a company without an account must cost stock Odoo nothing, not even a query.
    """

    _inherit = "sms.gateway.account"

    @api.model
    @tools.ormcache()
    def _gateway_company_ids(self):
        return frozenset(self.sudo().search([("active", "=", True)]).company_id.ids)

    @api.model
    def _get_for_company(self, company):
        if company.id not in self._gateway_company_ids():
            return self.sudo().browse()
        return super()._get_for_company(company)

    @api.model_create_multi
    def create(self, vals_list):
        self.env.registry.clear_cache()
        return super().create(vals_list)

    def write(self, vals):
        if {"active", "company_id"} & set(vals):
            self.env.registry.clear_cache()
        return super().write(vals)

    def unlink(self):
        self.env.registry.clear_cache()
        return super().unlink()
