from datetime import datetime

from dateutil.relativedelta import relativedelta

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

# What a structure (a company with branches) decides for each member, and members' own settings.
FUNDING_SELECTION = [("own", "Own balance"), ("pool", "Structure's pool")]
QUOTA_PERIOD_SELECTION = [("month", "Per month"), ("year", "Per year")]


class ResCompany(models.Model):
    """Federations: a structure is a company with branches (``parent_id``); its members send through their
    own accounts or the structure's shared ones, and are funded by their own balance (credit the structure
    allocated to them) or by the structure's pool, within a quota."""

    _inherit = "res.company"

    sms_account_order = fields.Selection(
        [("own", "Own accounts first"), ("structure", "Structure's shared accounts first")],
        "SMS account order",
        default="own",
        required=True,
        help="When the company has its own active provider account and its structure shares one: which one sends "
        "first (the other takes over when it fails).",
    )
    sms_funding = fields.Selection(
        FUNDING_SELECTION,
        "SMS funding",
        default="own",
        required=True,
        help="Own balance: the SMS are paid from this company's credit (top-ups, credit allocated by its "
        "structure). Structure's pool: they are charged to the structure's credit, within the quota.",
    )
    sms_quota = fields.Integer(
        "SMS quota",
        help="SMS units this company may draw on its structure's pool per period. 0: no limit.",
    )
    sms_quota_period = fields.Selection(QUOTA_PERIOD_SELECTION, "SMS quota period", default="month", required=True)
    sms_user_quota = fields.Integer(
        "SMS per user per month",
        help="SMS units each user of this company may send per calendar month. 0: no limit.",
    )
    sms_user_quota_alert = fields.Integer(
        "User quota alert (%)",
        default=80,
        help="The user and the SMS managers are told when a user's SMS of the month reach this share of the quota.",
    )

    @api.constrains("sms_quota", "sms_user_quota", "sms_user_quota_alert")
    def _check_sms_quotas(self):
        for company in self:
            if company.sms_quota < 0 or company.sms_user_quota < 0:
                raise ValidationError(_("An SMS quota is a positive number of SMS (0: no limit)."))
            if not 0 <= company.sms_user_quota_alert <= 100:
                raise ValidationError(_("The user quota alert is a percentage, between 0 and 100."))

    # ------------------------------------------------------------------
    # Structure and members
    # ------------------------------------------------------------------
    def _sms_ancestors(self):
        """The structures above this company, nearest first."""
        self.ensure_one()
        ids = [int(part) for part in (self.sudo().parent_path or "").split("/") if part]
        return self.browse(list(reversed(ids[:-1]))).sudo()

    def _sms_is_member_of(self, structure):
        """Whether this company is a branch (at any depth) of ``structure``."""
        self.ensure_one()
        return structure.id in self._sms_ancestors().ids

    def _sms_gateway_accounts(self):
        """The active accounts that send for this company, in the order they are tried: its own ones and the
        ones the nearest structure sharing an account with it shares (order ``sms_account_order``)."""
        self.ensure_one()
        Account = self.env["sms.gateway.account"].sudo()
        own = Account.search([("company_id", "=", self.id), ("active", "=", True)], order="sequence, id")
        shared = Account.browse()
        for structure in self._sms_ancestors():
            shared = Account.search(
                [
                    ("company_id", "=", structure.id),
                    ("active", "=", True),
                    "|",
                    ("share_mode", "=", "all"),
                    "&",
                    ("share_mode", "=", "chosen"),
                    ("share_company_ids", "in", self.id),
                ],
                order="sequence, id",
            )
            if shared:
                break
        return shared + own if self.sudo().sms_account_order == "structure" else own + shared

    def _sms_credit_company(self):
        """The company whose ledger pays this company's SMS: itself, or up the structures while the funding
        is the structure's pool."""
        self.ensure_one()
        company = self.sudo()
        while company.sms_funding == "pool" and company.parent_id:
            company = company.parent_id
        return company

    # ------------------------------------------------------------------
    # Quotas: the member's quota on the pool, each user's monthly quota
    # ------------------------------------------------------------------
    def _sms_period_start(self, period):
        now = fields.Datetime.now()
        if period == "year":
            return datetime(now.year, 1, 1)
        return datetime(now.year, now.month, 1)

    def _sms_period_label(self, period):
        return _("this year") if period == "year" else _("this month")

    def _sms_member_usage(self, since, sender=None):
        """SMS units this company's SMS used since ``since`` (on whatever ledger paid them), for one user when
        given: reservations and consumption minus refunds."""
        self.ensure_one()
        self.env["sms.credit.move"].flush_model()
        query = """SELECT COALESCE(-SUM(quantity), 0) FROM sms_credit_move
                    WHERE member_company_id = %s AND move_type IN ('consumption', 'refund') AND date >= %s"""
        args = [self.id, since]
        if sender:
            query += " AND user_id = %s"
            args.append(sender.id)
        self.env.cr.execute(query, args)
        return self.env.cr.fetchone()[0]

    def _sms_pool_usage(self, since):
        """SMS units this company and its branches (at any depth) drew since ``since`` on the ledger this
        company's SMS are charged to: what its quota on its structure's pool caps. A branch's SMS count for
        every level between it and the pool (a member of a member draws on the same pool through its parent);
        a branch paying from its own balance does not count."""
        self.ensure_one()
        company = self.sudo()
        self.env["sms.credit.move"].flush_model()
        self.flush_model(["parent_path"])
        self.env.cr.execute(
            """SELECT COALESCE(-SUM(m.quantity), 0)
                 FROM sms_credit_move m JOIN res_company c ON c.id = m.member_company_id
                WHERE m.company_id = %s AND c.parent_path LIKE %s
                  AND m.move_type IN ('consumption', 'refund') AND m.date >= %s""",
            (company._sms_credit_company().id, f"{company.parent_path}%", since),
        )
        return self.env.cr.fetchone()[0]

    def _sms_pool_quotas_left(self):
        """``[(level, left)]``: each company from this one up the structures while it draws on its parent's
        pool, with a quota, and what is left of it (the quota of each level caps what its branches draw too)."""
        self.ensure_one()
        lefts = []
        level = self.sudo()
        while level.sms_funding == "pool" and level.parent_id:
            if level.sms_quota > 0:
                usage = level._sms_pool_usage(level._sms_period_start(level.sms_quota_period))
                lefts.append((level, max(level.sms_quota - usage, 0)))
            level = level.parent_id
        return lefts

    def _sms_user_quota_left(self, sender=None):
        """What ``sender`` may still send this month for this company, or None without a user quota."""
        self.ensure_one()
        company = self.sudo()
        sender = sender or self.env.user
        if company.sms_user_quota <= 0 or sender._is_superuser():
            return None
        usage = company._sms_member_usage(company._sms_period_start("month"), sender)
        return max(company.sms_user_quota - usage, 0)

    def _sms_quota_left(self, sender=None):
        """SMS units ``sender`` may still send for this company under its quotas (on the pool: this
        company's and those of the structures it draws through; the user's monthly one), or None when none
        applies."""
        self.ensure_one()
        lefts = [left for _level, left in self.sudo()._sms_pool_quotas_left()]
        user_left = self._sms_user_quota_left(sender)
        if user_left is not None:
            lefts.append(user_left)
        return min(lefts) if lefts else None

    def _sms_quota_problem(self, needed, sender=None):
        """The translated reason why a send of ``needed`` SMS units is over a quota on the pool (this
        company's or that of a structure it draws through) or the user's monthly quota, or False. Call it
        under the lock of the paying company: the usage it reads cannot move meanwhile."""
        self.ensure_one()
        company = self.sudo()
        if not needed:
            return False
        for level, left in company._sms_pool_quotas_left():
            if needed > left:  # the nearest level over its quota is the one named
                return _(
                    "Quota reached: this send needs %(needed)s SMS, %(company)s has %(left)s left of its "
                    "%(quota)s %(period)s.",
                    needed=needed,
                    company=level.name,
                    left=left,
                    quota=level.sms_quota,
                    period=level._sms_period_label(level.sms_quota_period),
                )
        user_left = company._sms_user_quota_left(sender)
        if user_left is not None and needed > user_left:
            return _(
                "Quota reached: this send needs %(needed)s SMS, you have %(left)s left of your %(quota)s SMS "
                "this month (%(company)s). Ask an SMS manager to raise the quota.",
                needed=needed,
                left=user_left,
                quota=company.sms_user_quota,
                company=company.name,
            )
        return False

    def _sms_check_user_quota_alert(self, sender, before, after):
        """Tell the user and the SMS managers when the user's SMS of the month cross the alert percentage
        (the usage only grows within a month: one notification per crossing)."""
        self.ensure_one()
        company = self.sudo()
        if company.sms_user_quota <= 0 or company.sms_user_quota_alert <= 0 or sender._is_superuser():
            return
        limit = company.sms_user_quota * company.sms_user_quota_alert / 100.0
        if before < limit <= after:
            subject = _("SMS quota: %(user)s", user=sender.name)
            text = _(
                "%(user)s has sent %(used)s of their %(quota)s SMS this month in %(company)s (alert at "
                "%(percent)s%%). Past the quota, their sends are refused.",
                user=sender.name,
                used=after,
                quota=company.sms_user_quota,
                company=company.name,
                percent=company.sms_user_quota_alert,
            )
            company._sms_notify_managers(subject, text, extra_users=sender)

    def _sms_after_reservation(self, quantity):
        """``quantity`` SMS units were just reserved for the current user's SMS of this company."""
        self.ensure_one()
        company = self.sudo()
        sender = self.env.user
        if company.sms_user_quota <= 0 or not quantity or sender._is_superuser():
            return
        after = company._sms_member_usage(company._sms_period_start("month"), sender)
        company._sms_check_user_quota_alert(sender, after - quantity, after)

    def _sms_structure_managers(self):
        """The SMS managers of the structures above this company (told about their members' low balance)."""
        self.ensure_one()
        managers = self.env["res.users"]
        for structure in self._sms_ancestors():
            managers |= structure._sms_gateway_managers()
        return managers

    # ------------------------------------------------------------------
    # A new branch, a branch moved: the companies that send through a shared account change
    # ------------------------------------------------------------------
    def _sms_clear_gateway_cache(self):
        self.env.registry.clear_cache()

    @api.model_create_multi
    def create(self, vals_list):
        companies = super().create(vals_list)
        if companies.filtered("parent_id"):
            self._sms_clear_gateway_cache()
        return companies

    def write(self, vals):
        result = super().write(vals)
        if "parent_id" in vals:
            self._sms_clear_gateway_cache()
        return result

    # ------------------------------------------------------------------
    # Demo data (demo/sms_federation_demo.xml): a few months of history for the federation of the demo
    # ------------------------------------------------------------------
    def _sms_demo_federation_history(self, allocated_id, monthly_counts):
        """As if the schools under this structure had sent SMS for the last months: ``monthly_counts`` is
        ``{company id: [SMS per month, oldest first]}``; each SMS is queued through the ledger (charged as its
        school's funding says), then marked delivered and dated back to its month."""
        self.ensure_one()
        Move = self.env["sms.credit.move"].sudo()
        Move.create({"company_id": self.id, "move_type": "topup", "quantity": 2000, "note": "Demo credits"})
        Move._allocate(self, self.browse(allocated_id), 300, note="Demo allocation")
        numbers = ["+33623456789", "+33751223344", "+33698765432", "+33612345678"]
        bodies = ["Cours de ski annulé demain (vent).", "Rappel : rendez-vous 9h au pied des pistes.", "Merci !"]
        now = fields.Datetime.now()
        for company_id, counts in monthly_counts.items():
            company = self.browse(company_id)
            for months_ago, count in zip(range(len(counts) - 1, -1, -1), counts, strict=True):
                date = now - relativedelta(months=months_ago, days=2)
                vals_list = [
                    {
                        "number": numbers[index % len(numbers)],
                        "body": bodies[index % len(bodies)],
                        "company_id": company.id,
                        "create_date": date,
                        "origin_label": "Manual send" if index % 3 else "Appointments",
                    }
                    for index in range(count)
                ]
                sms = self.env["sms.sms"].sudo().with_company(company).create(vals_list)
                sms.write({"state": "sent", "sent_date": date})
                Move._settle_sms(sms)
                self.env.flush_all()
                # the ledger rows dated with their SMS (quotas count the month they fall in)
                self.env.cr.execute(
                    "UPDATE sms_credit_move SET date = %s WHERE id = ANY(%s)", (date, sms.credit_move_id.ids)
                )
        self.env["sms.credit.move"].invalidate_model(["date"])
        self.env["sms.usage.daily"]._refresh()
