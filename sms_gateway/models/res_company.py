from odoo import api, fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    sms_credit_balance = fields.Integer(
        "SMS balance", compute="_compute_sms_credit_balance", help="SMS units this company can still spend."
    )
    sms_credit_reserved = fields.Integer(
        "SMS reserved", compute="_compute_sms_credit_balance", help="SMS units held by queued SMS."
    )
    sms_gateway_account_ids = fields.One2many("sms.gateway.account", "company_id", "SMS provider accounts")
    sms_low_balance_threshold = fields.Integer(
        "Low SMS balance alert", help="SMS managers are alerted once when the balance falls below this number."
    )
    sms_history_retention_days = fields.Integer(
        "Keep SMS history (days)", help="Older SMS are deleted by a daily cleanup. 0 keeps them forever."
    )
    # Composer settings (Send SMS recap)
    sms_max_length = fields.Integer(
        "SMS maximum length",
        help="Maximum number of characters a user may type in a message (the opt-out mention is not counted). "
        "0: no limit.",
    )
    sms_optout_mention = fields.Char(
        "SMS opt-out mention",
        help="Appended to every mass SMS (e.g. STOP 36608); shown in the preview and counted in length and cost.",
    )
    sms_replace_accents = fields.Boolean(
        "Replace accents missing from GSM-7",
        help="Replace accented letters the GSM-7 alphabet lacks (ç, ê, ô...) by plain letters, so that a message "
        "does not switch to the costlier unicode encoding.",
    )
    sms_forbid_admin = fields.Boolean(
        "Forbid sending from the administrator account",
        help="SMS cannot be sent from the shared administrator account, so that every send is traceable to a person.",
    )

    def _compute_sms_credit_balance(self):
        moves = self.env["sms.credit.move"].sudo()
        balances = dict(moves._read_group([("company_id", "in", self.ids)], ["company_id"], ["quantity:sum"]))
        reserved = dict(
            moves._read_group(
                [("company_id", "in", self.ids), ("state", "=", "reserved")], ["company_id"], ["quantity:sum"]
            )
        )
        for company in self:
            company.sms_credit_balance = balances.get(company, 0)
            company.sms_credit_reserved = -reserved.get(company, 0)

    def _sms_lock_credit(self):
        """Lock the company's credit until the end of the transaction and return its balance.

        Odoo runs transactions in REPEATABLE READ: a plain lock followed by a
        SUM would not see the rows a concurrent sender committed while we
        waited. Bumping the company's row in the lock table makes PostgreSQL
        raise a serialization failure instead, and Odoo retries the request
        with a fresh snapshot: a company can never spend credit it lacks.
        """
        self.ensure_one()
        self.env["sms.credit.move"].flush_model()
        cr = self.env.cr
        cr.execute(
            """INSERT INTO sms_gateway_credit_lock (company_id, version) VALUES (%s, 1)
                ON CONFLICT (company_id) DO UPDATE SET version = sms_gateway_credit_lock.version + 1""",
            (self.id,),
            log_exceptions=False,  # a serialization failure here is expected and retried by Odoo
        )
        cr.execute("SELECT COALESCE(SUM(quantity), 0) FROM sms_credit_move WHERE company_id = %s", (self.id,))
        return cr.fetchone()[0]

    @api.model
    def _sms_has_gateway(self, company):
        return bool(self.env["sms.gateway.account"]._get_for_company(company))
