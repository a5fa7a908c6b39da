from odoo import fields, models


class SmsCreditLock(models.Model):
    """One row per company, bumped by every credit withdrawal (``sms.credit.move._lock_credit``).

    Odoo runs transactions in REPEATABLE READ: a plain lock followed by a SUM would not see the rows a
    concurrent sender committed while we waited. Bumping the company's row makes PostgreSQL raise a
    serialization failure instead, and Odoo retries the request with a fresh snapshot. An ORM model (as
    OCA ``queue_job`` keeps its lock table) so that uninstalling the addon drops it.
    """

    _name = "sms.credit.lock"
    _description = "SMS credit lock"
    _log_access = False

    company_id = fields.Many2one("res.company", required=True, ondelete="cascade")
    version = fields.Integer(required=True, default=0)

    _sql_constraints = [("company_unique", "UNIQUE(company_id)", "One credit lock per company.")]
