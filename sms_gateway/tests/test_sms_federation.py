import json

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import HttpCase, new_test_user, tagged

from .common import SmsGatewayCase


class FederationCase(SmsGatewayCase):
    """Two structures. The Syndicat shares its sandbox account with its three schools: the Ski school has its
    own account, the Snowboard school is funded by allocation, the Nordic school draws on the pool within a
    quota of 5 SMS a month. The Fédération has one member, the École du Lac, funded by allocation."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        france = cls.env.ref("base.fr")
        Company = cls.env["res.company"]
        cls.structure = Company.create({"name": "Syndicat des écoles", "country_id": france.id})
        cls.school_own = Company.create({"name": "École de ski", "parent_id": cls.structure.id})
        cls.school_alloc = Company.create({"name": "École de snowboard", "parent_id": cls.structure.id})
        cls.school_pool = Company.create(
            {"name": "École nordique", "parent_id": cls.structure.id, "sms_funding": "pool", "sms_quota": 5}
        )
        cls.structure_2 = Company.create({"name": "Fédération", "country_id": france.id})
        cls.member_2 = Company.create({"name": "École du Lac", "parent_id": cls.structure_2.id})
        Account = cls.env["sms.gateway.account"]
        cls.shared_account = Account.create(
            {
                "name": "Syndicat ASPSMS",
                "provider": "sandbox",
                "company_id": cls.structure.id,
                "share_mode": "all",
                "password": "structure-secret",
                "reinvoice_unit_price": 0.05,
            }
        )
        cls.own_account = Account.create({"name": "Ski school", "provider": "sandbox", "company_id": cls.school_own.id})
        cls.account_2 = Account.create(
            {"name": "Fédération", "provider": "sandbox", "company_id": cls.structure_2.id, "share_mode": "all"}
        )

        def user(login, groups, companies):
            return new_test_user(
                cls.env,
                login=login,
                groups=f"base.group_user,base.group_multi_company,{groups}",
                company_id=companies[0].id,
                company_ids=[(6, 0, companies.ids)],
                email=f"{login}@example.com",
            )

        cls.structure_manager = user("fed_structure_manager", "sms_gateway.group_sms_manager", cls.structure)
        cls.member_manager = user("fed_member_manager", "sms_gateway.group_sms_manager", cls.school_alloc)
        cls.member_user = user("fed_member_user", "sms_gateway.group_sms_user", cls.school_alloc)
        cls.pool_user = user("fed_pool_user", "sms_gateway.group_sms_user", cls.school_pool)
        cls.pool_manager = user("fed_pool_manager", "sms_gateway.group_sms_manager", cls.school_pool)
        cls.manager_2 = user("fed_manager_2", "sms_gateway.group_sms_manager", cls.structure_2)
        cls.topup(cls.structure, 100)
        cls.topup(cls.structure_2, 100)

    def send(self, company, count=1, user=None, body="Cours annulé demain."):
        env = self.env(user=user) if user else self.env
        return (
            env["sms.sms"]
            .sudo()
            .with_company(company)
            .create(
                [{"number": f"+3361234567{index}", "body": body, "company_id": company.id} for index in range(count)]
            )
        )

    def allocate(self, member, quantity, user=None, **vals):
        env = self.env(user=user or self.structure_manager)
        wizard = env["sms.credit.allocation"].create(
            {
                "structure_id": member.parent_id.id,
                "member_ids": [(6, 0, member.ids)],
                "quantity": quantity,
                **vals,
            }
        )
        return wizard.action_allocate()

    def mails(self, subject):
        return self.env["mail.mail"].sudo().search([("subject", "like", subject)])


@tagged("post_install", "-at_install")
class TestSmsFederation(FederationCase):
    # ------------------------------------------------------------------
    # 1. Shared accounts
    # ------------------------------------------------------------------
    def test_member_sends_through_shared_account_charged_on_its_own_balance(self):
        self.allocate(self.school_alloc, 10)
        sms = self.send(self.school_alloc, user=self.member_user)
        self.assertEqual(sms.gateway_account_id, self.shared_account)
        self.assertEqual(sms.credit_company_id, self.school_alloc)
        self.assertEqual(sms.credit_charged, 1)
        self.assertEqual(self.balance(self.school_alloc), 9)
        self.assertEqual(self.balance(self.structure), 90)
        self.run_queue()
        self.assertIn(sms.state, ("pending", "sent"))
        self.assertEqual(self.balance(self.school_alloc), 9)

    def test_own_account_first_unless_structure_first(self):
        self.topup(self.school_own, 5)
        self.assertEqual(self.send(self.school_own).gateway_account_id, self.own_account)
        self.school_own.sms_account_order = "structure"
        self.assertEqual(self.send(self.school_own).gateway_account_id, self.shared_account)
        self.assertEqual(self.school_own._sms_gateway_accounts(), self.shared_account | self.own_account)

    def test_account_shared_with_chosen_branches_only(self):
        self.shared_account.write({"share_mode": "chosen", "share_company_ids": [(6, 0, self.school_pool.ids)]})
        self.allocate(self.school_alloc, 5)
        sms = self.send(self.school_alloc)
        self.assertFalse(sms.gateway_account_id, "not shared with it: stock Odoo path")
        self.assertEqual(self.send(self.school_pool).gateway_account_id, self.shared_account)
        with self.assertRaises(ValidationError):
            self.shared_account.share_company_ids = [(6, 0, self.company_b.ids)]

    def test_new_branch_sends_through_shared_account(self):
        branch = self.env["res.company"].create(
            {"name": "École de luge", "parent_id": self.structure.id, "sms_funding": "pool"}
        )
        sms = self.send(branch)
        self.assertEqual(sms.gateway_account_id, self.shared_account)
        self.assertEqual(sms.credit_company_id, self.structure)

    def test_shared_account_credentials_stay_with_its_owner(self):
        account = self.shared_account.with_user(self.member_manager)
        with self.assertRaises(AccessError):
            account.read(["password"])
        with self.assertRaises(AccessError):
            account.write({"name": "Mine"})
        self.assertFalse(self.env["sms.gateway.account"].with_user(self.member_manager).search([]) & account)
        # its SMS name the account without opening it
        self.allocate(self.school_alloc, 5)
        sms = self.send(self.school_alloc, user=self.member_user).with_user(self.member_manager)
        self.assertEqual(sms.gateway_account_id.id, self.shared_account.id)
        self.assertEqual(
            self.shared_account.with_user(self.structure_manager).read(["password"])[0]["password"],
            "structure-secret",
        )

    # ------------------------------------------------------------------
    # 2. Allocation
    # ------------------------------------------------------------------
    def test_allocation_writes_paired_rows_and_takes_back(self):
        self.allocate(self.school_alloc, 30)
        moves = self.env["sms.credit.move"].search([("move_type", "=", "allocation")])
        self.assertEqual(
            sorted(moves.mapped(lambda m: (m.company_id.name, m.quantity, m.counterpart_company_id.name))),
            [("Syndicat des écoles", -30, "École de snowboard"), ("École de snowboard", 30, "Syndicat des écoles")],
        )
        self.send(self.school_alloc, count=2)
        self.allocate(self.school_alloc, 0, direction="take_back", take_all=True)
        self.assertEqual(self.balance(self.school_alloc), 0)
        self.assertEqual(self.balance(self.structure), 98)

    def test_bulk_wizard_shows_balance_before_and_after(self):
        wizard = (
            self.env["sms.credit.allocation"]
            .with_user(self.structure_manager)
            .create(
                {
                    "structure_id": self.structure.id,
                    "member_ids": [(6, 0, (self.school_own | self.school_alloc | self.school_pool).ids)],
                    "quantity": 20,
                }
            )
        )
        self.assertEqual((wizard.balance_before, wizard.total, wizard.balance_after), (100, 60, 40))
        wizard.action_allocate()
        self.assertEqual(self.balance(self.structure), 40)
        self.assertEqual([self.balance(c) for c in (self.school_own, self.school_alloc, self.school_pool)], [20] * 3)

    def test_bad_allocations_are_refused_and_change_nothing(self):
        Move = self.env["sms.credit.move"]
        count = Move.search_count([])
        for quantity in (0, -5):
            with self.assertRaisesRegex(UserError, "whole, positive number"):
                self.allocate(self.school_alloc, quantity)
        with self.assertRaisesRegex(UserError, "whole number"):
            self.allocate(self.school_alloc, 2.5)
        with self.assertRaisesRegex(UserError, "whole, positive number"):
            Move._allocate(self.structure, self.school_alloc, 2.5)
        with self.assertRaisesRegex(UserError, "below zero"):
            self.allocate(self.school_alloc, 101)
        with self.assertRaisesRegex(UserError, "not members"):
            Move._allocate(self.structure, self.member_2, 5)
        with self.assertRaisesRegex(UserError, "not members"):
            Move._allocate(self.structure, self.company_b, 5)
        with self.assertRaisesRegex(UserError, "cannot be taken back"):
            self.allocate(self.school_alloc, 5, direction="take_back")
        self.assertEqual(Move.search_count([]), count)
        self.assertEqual(self.balance(self.structure), 100)

    # ------------------------------------------------------------------
    # 3. Funding by the pool, quotas
    # ------------------------------------------------------------------
    def test_pool_member_charged_on_structure_within_quota(self):
        self.school_pool.sms_low_balance_threshold = 10  # its own balance is not what pays
        sms = self.send(self.school_pool, count=3, user=self.pool_user)
        self.assertEqual(set(sms.mapped("state")), {"outgoing"})
        self.assertEqual(sms.credit_company_id, self.structure)
        self.assertEqual(self.balance(self.structure), 97)
        self.assertEqual(self.balance(self.school_pool), 0)
        move = sms.credit_move_id
        self.assertEqual((move.company_id, move.member_company_id), (self.structure, self.school_pool))
        # over the quota: the whole send refused, nothing charged
        refused = self.send(self.school_pool, count=3, user=self.pool_user)
        self.assertEqual(set(refused.mapped("state")), {"error"})
        self.assertEqual(set(refused.mapped("credit_charged")), {0})
        self.assertEqual(
            refused[0].error_message,
            "Quota reached: this send needs 3 SMS, École nordique has 2 left of its 5 this month.",
        )
        self.assertEqual(self.balance(self.structure), 97)
        # a refund gives the quota back
        sms[:1].action_set_canceled()
        self.assertEqual(self.balance(self.structure), 98)
        self.assertEqual(self.school_pool._sms_member_usage(self.school_pool._sms_period_start("month")), 2)
        self.assertFalse(self.mails("Low SMS balance: École nordique"))
        with self.assertRaises(ValidationError):
            self.school_pool.sms_quota = -1
        with self.assertRaises(ValidationError):
            self.school_pool.sms_user_quota_alert = 120

    def test_quota_shown_in_composer_recap(self):
        self.send(self.school_pool, count=4)
        partners = self.partner_a | self.partner_b
        composer = (
            self.env["sms.composer"]
            .with_user(self.pool_user)
            .with_context(
                active_model="res.partner",
                active_ids=partners.ids,
                default_composition_mode="mass",
                default_res_ids=partners.ids,
            )
            .create({"body": "Sortie annulée"})
        )
        self.assertEqual(composer.sms_gateway_account_id, self.shared_account)
        self.assertEqual(composer.sms_credit_balance, 96)
        self.assertEqual(
            composer.sms_send_problem,
            "Quota reached: this send needs 2 SMS, École nordique has 1 left of its 5 this month.",
        )
        count = self.env["sms.sms"].sudo().search_count([])
        with self.assertRaisesRegex(UserError, "Quota reached"):
            composer.action_send_sms()
        self.assertEqual(self.env["sms.sms"].sudo().search_count([]), count)

    def test_yearly_quota(self):
        self.school_pool.write({"sms_quota_period": "year", "sms_quota": 2})
        refused = self.send(self.school_pool, count=3)
        self.assertIn("left of its 2 this year", refused[0].error_message)

    def failed(self, company, user=None):
        """An SMS of ``company`` the provider refused (sandbox test number): failed, its credit given back."""
        sms = self.queue_sms(company, "+33600000001", user=user)
        self.run_queue()
        self.assertEqual((sms.state, sms.credit_charged), ("error", 0))
        return sms

    def test_resend_over_the_pool_quota_is_refused(self):
        failed = self.failed(self.school_pool)
        self.send(self.school_pool, count=5)  # the quota of 5 is used up
        self.assertEqual(self.balance(self.structure), 95)
        failed.with_user(self.pool_manager).action_set_outgoing()
        self.assertEqual((failed.state, failed.failure_type, failed.credit_charged), ("error", "sms_credit", 0))
        self.assertEqual(
            failed.error_message, "Quota reached: this send needs 1 SMS, École nordique has 0 left of its 5 this month."
        )
        self.assertEqual(self.balance(self.structure), 95, "nothing charged")
        # set back to the queue by code (not reserved again): refused when it is claimed
        failed.write({"state": "outgoing", "failure_type": False, "error_message": False})
        self.run_queue()
        self.assertEqual((failed.state, failed.credit_charged), ("error", 0))
        self.assertIn("Quota reached", failed.error_message)
        self.assertEqual(self.balance(self.structure), 95)
        # within the quota again, the resend goes
        self.school_pool.sms_quota = 6
        failed.with_user(self.pool_manager).action_set_outgoing()
        self.assertEqual((failed.state, failed.credit_charged), ("outgoing", 1))
        self.assertEqual(self.balance(self.structure), 94)

    def test_resend_over_the_user_quota_is_refused(self):
        self.school_pool.write({"sms_quota": 0, "sms_user_quota": 2})
        failed = self.failed(self.school_pool, user=self.pool_manager)
        self.assertEqual(self.school_pool._sms_quota_left(self.pool_manager), 2, "the refund gave it back")
        self.assertEqual(
            set(self.send(self.school_pool, count=2, user=self.pool_manager).mapped("state")), {"outgoing"}
        )
        failed.with_user(self.pool_manager).action_set_outgoing()
        self.assertEqual((failed.state, failed.credit_charged), ("error", 0))
        self.assertIn("you have 0 left of your 2 SMS this month", failed.error_message)
        self.assertEqual(self.balance(self.structure), 98)

    def test_nested_pools_each_level_caps_its_branches(self):
        """Syndicat > École nordique (pool, 5 a month) > Antenne (pool of the École, 10 a month): the Antenne's
        SMS are charged to the Syndicat and count against both quotas."""
        antenna = self.env["res.company"].create(
            {"name": "Antenne du Col", "parent_id": self.school_pool.id, "sms_funding": "pool", "sms_quota": 10}
        )
        # a branch paying from its own balance does not draw on the pool
        own = self.env["res.company"].create({"name": "Antenne autonome", "parent_id": self.school_pool.id})
        self.topup(own, 10)
        self.send(own, count=3)
        sms = self.send(antenna, count=4)
        self.assertEqual((sms.credit_company_id, set(sms.mapped("state"))), (self.structure, {"outgoing"}))
        self.assertEqual(antenna._sms_quota_left(), 1, "the École has 1 left of its 5, the Antenne 6 of its 10")
        self.assertEqual(self.send(self.school_pool).state, "outgoing")
        refused = self.send(antenna)
        self.assertEqual((refused.state, refused.credit_charged), ("error", 0))
        self.assertEqual(
            refused.error_message,
            "Quota reached: this send needs 1 SMS, École nordique has 0 left of its 5 this month.",
        )
        self.assertEqual(self.balance(self.structure), 95)
        pool_row = self.env["sms.federation.member"].browse(self.school_pool.id)
        self.assertEqual((pool_row.sms_quota_used, pool_row.sms_quota_left), (5, 0))
        # the Antenne's own quota caps it too
        self.school_pool.sms_quota = 100
        self.assertEqual(set(self.send(antenna, count=6).mapped("state")), {"outgoing"})
        refused = self.send(antenna)
        self.assertEqual(
            refused.error_message,
            "Quota reached: this send needs 1 SMS, Antenne du Col has 0 left of its 10 this month.",
        )
        self.assertEqual(self.balance(self.structure), 89)

    # ------------------------------------------------------------------
    # 4. User quotas
    # ------------------------------------------------------------------
    def test_user_quota_alerts_then_refuses(self):
        self.school_pool.write({"sms_quota": 0, "sms_user_quota": 4, "sms_user_quota_alert": 50})
        self.send(self.school_pool, count=1, user=self.pool_user)
        self.assertFalse(self.mails("SMS quota"))
        self.send(self.school_pool, count=1, user=self.pool_user)
        alert = self.mails("SMS quota")
        self.assertEqual(len(alert), 1)
        self.assertEqual(alert.recipient_ids, (self.pool_user | self.pool_manager).partner_id)
        self.send(self.school_pool, count=1, user=self.pool_user)
        self.assertEqual(len(self.mails("SMS quota")), 1, "one notification per crossing")
        refused = self.send(self.school_pool, count=2, user=self.pool_user)
        self.assertEqual(set(refused.mapped("state")), {"error"})
        self.assertIn("you have 1 left of your 4 SMS this month", refused[0].error_message)
        # another user has their own quota
        other = self.send(self.school_pool, count=2, user=self.pool_manager)
        self.assertEqual(set(other.mapped("state")), {"outgoing"})

    # ------------------------------------------------------------------
    # 5. Alerts per member
    # ------------------------------------------------------------------
    def test_member_low_balance_tells_member_and_structure_managers_once(self):
        self.school_alloc.sms_low_balance_threshold = 10
        self.allocate(self.school_alloc, 12)
        self.send(self.school_alloc, count=3)
        alert = self.mails("Low SMS balance: École de snowboard")
        self.assertEqual(len(alert), 1)
        self.assertEqual(alert.recipient_ids, (self.member_manager | self.structure_manager).partner_id)
        self.send(self.school_alloc, count=1)
        self.assertEqual(len(self.mails("Low SMS balance: École de snowboard")), 1)
        self.assertNotIn(self.member_manager.partner_id, self.mails("Low SMS balance: Syndicat").recipient_ids)

    # ------------------------------------------------------------------
    # 6. Follow-up and walls
    # ------------------------------------------------------------------
    def test_structure_sees_members_figures_not_their_texts(self):
        self.allocate(self.school_alloc, 10)
        self.send(self.school_alloc, count=2, user=self.member_user, body="Texte privé de l'école")
        self.send(self.school_pool, count=3, user=self.pool_user)
        Report = self.env["sms.usage.report"].with_user(self.structure_manager)
        groups = Report._read_group([], ["company_id"], ["sms_count:sum", "credit:sum", "amount:sum"])
        figures = {c.sudo().name: (count, credit, round(amount, 2)) for c, count, credit, amount in groups}
        self.assertEqual(figures, {"École de snowboard": (2, 2, 0.1), "École nordique": (3, 3, 0.15)})
        self.assertFalse(
            self.env["sms.sms"].with_user(self.structure_manager).search([("company_id", "=", self.school_alloc.id)])
        )
        # members see their own figures only, the other structure nothing of this one
        own = self.env["sms.usage.report"].with_user(self.member_manager).search([])
        self.assertEqual(own.company_id, self.school_alloc)
        self.assertFalse(self.env["sms.usage.report"].with_user(self.manager_2).search([]))

    def test_members_screen_and_who_may_change_funding(self):
        Member = self.env["sms.federation.member"]
        members = Member.with_user(self.structure_manager).search([])
        self.assertEqual(members.company_id, self.school_own | self.school_alloc | self.school_pool)
        self.allocate(self.school_alloc, 7)
        self.send(self.school_pool, count=2)
        pool_row = members.filtered(lambda m: m.company_id == self.school_pool)
        self.assertEqual((pool_row.sms_quota_used, pool_row.sms_quota_left, pool_row.sms_year_credit), (2, 3, 2))
        self.assertEqual(members.filtered(lambda m: m.company_id == self.school_alloc).sms_credit_balance, 7)
        members.filtered(lambda m: m.company_id == self.school_alloc).write({"sms_funding": "pool", "sms_quota": 50})
        self.assertEqual((self.school_alloc.sms_funding, self.school_alloc.sms_quota), ("pool", 50))
        # a member's managers see their own row only, and cannot change their funding
        own = Member.with_user(self.member_manager).search([])
        self.assertEqual(own.company_id, self.school_alloc)
        with self.assertRaises(AccessError):
            own.write({"sms_quota": 0})
        with self.assertRaises(AccessError):
            members.write({"name": "Renamed"})
        self.assertFalse(Member.with_user(self.manager_2).search([("structure_id", "=", self.structure.id)]))
        with self.assertRaises(AccessError):
            Member.with_user(self.manager_2).browse(pool_row.id).write({"sms_quota": 1000})

    def test_only_structure_managers_allocate(self):
        for user in (self.member_manager, self.manager_2):
            with self.assertRaises(AccessError):
                self.allocate(self.school_alloc, 5, user=user)
        for user in (self.member_user, self.pool_user):
            with self.assertRaises(AccessError):
                self.env["sms.credit.allocation"].with_user(user).create({"structure_id": self.structure.id})
        with self.assertRaises(UserError):  # the ledger's allocation rows are written by the ledger only
            self.env["sms.credit.move"].with_user(self.member_manager).create(
                {"company_id": self.school_alloc.id, "move_type": "allocation", "quantity": 50}
            )
        # the other structure cannot take from this one's members
        wizard = (
            self.env["sms.credit.allocation"]
            .with_user(self.manager_2)
            .create({"structure_id": self.structure_2.id, "quantity": 5, "member_ids": [(6, 0, self.member_2.ids)]})
        )
        with self.assertRaisesRegex(UserError, "not members"):
            wizard.sudo().write({"member_ids": [(6, 0, self.school_alloc.ids)]})
            wizard.action_allocate()
        self.assertEqual(self.balance(self.structure), 100)
        self.assertEqual(self.balance(self.school_alloc), 0)

    def test_daily_summary_keeps_the_figures(self):
        self.allocate(self.school_alloc, 10)
        old = self.send(self.school_alloc, count=2) | self.send(self.school_pool, count=3)
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE sms_sms SET create_date = create_date - interval '40 days' WHERE id = ANY(%s)", (old.ids,)
        )
        Report = self.env["sms.usage.report"].with_user(self.structure_manager)

        def figures():
            Report.invalidate_model()
            groups = Report._read_group([], ["company_id"], ["sms_count:sum", "credit:sum"])
            return {(company.sudo().name, count, credit) for company, count, credit in groups}

        live = figures()
        self.assertEqual(live, {("École de snowboard", 2, 2), ("École nordique", 3, 3)})
        self.env["sms.usage.daily"]._refresh()
        self.assertEqual(self.env["sms.usage.daily"].search_count([("company_id", "=", self.school_pool.id)]), 1)
        self.assertEqual(figures(), live, "summarised SMS read from the summary, the same figures")
        # the history retention deletes the old SMS: their figures stay; new SMS are counted live, then summarised
        old.unlink()
        self.assertEqual(figures(), live)
        self.send(self.school_pool, count=1)
        self.assertEqual(figures(), {("École de snowboard", 2, 2), ("École nordique", 4, 4)})
        self.env["sms.usage.daily"]._refresh()
        self.assertEqual(figures(), {("École de snowboard", 2, 2), ("École nordique", 4, 4)})
        self.assertEqual(self.env["sms.usage.daily"].search_count([("company_id", "=", self.school_pool.id)]), 2)


@tagged("post_install", "-at_install")
class TestSmsFederationApi(FederationCase, HttpCase):
    """A member drawing on its structure's pool sends through the API: its quotas are told and enforced over
    real HTTP."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.application = cls.env["sms.gateway.application"].create(
            {"name": "Réservations", "user_id": cls.pool_user.id, "company_id": cls.school_pool.id}
        )
        cls.key = cls.application.action_generate_key()["context"]["default_key"]

    def api(self, method, path, body=None):
        response = self.opener.request(
            method,
            f"{self.base_url()}/sms_gateway/api/v1{path}",
            data=json.dumps(body) if body is not None else None,
            headers={"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"},
            timeout=30,
        )
        return response.status_code, response.json()

    def post(self, count):
        numbers = [f"+3361234560{index}" for index in range(count)]
        return self.api("POST", "/messages", {"recipients": numbers, "text": "Cours annulé demain."})

    def test_pool_quota_over_the_api(self):
        self.assertEqual(self.api("GET", "/balance")[1]["quota_left"], 5)
        status, answer = self.post(6)
        self.assertEqual((status, answer["error"]["code"]), (402, "quota_exceeded"), answer)
        self.assertIn("École nordique", answer["error"]["message"])
        self.assertIn("5", answer["error"]["message"])
        self.assertFalse(self.env["sms.sms"].search([("application_id", "=", self.application.id)]))
        self.assertEqual(self.balance(self.structure), 100, "nothing charged on the pool")
        status, answer = self.post(2)
        self.assertEqual(status, 201, answer)
        self.assertEqual(self.api("GET", "/balance")[1]["quota_left"], 3)

    def test_user_quota_over_the_api(self):
        self.school_pool.sms_user_quota = 2
        self.assertEqual(self.api("GET", "/balance")[1]["quota_left"], 2, "the smaller of the two quotas")
        status, answer = self.post(3)
        self.assertEqual((status, answer["error"]["code"]), (402, "quota_exceeded"), answer)
        self.assertIn("2", answer["error"]["message"])
        self.assertEqual(self.post(2)[0], 201)
        self.assertEqual(self.api("GET", "/balance")[1]["quota_left"], 0)

    def test_insufficient_pool_credit_quotes_the_pool(self):
        self.school_pool.sms_quota = 0
        self.env["sms.credit.move"].create(
            {"company_id": self.structure.id, "move_type": "adjustment", "quantity": -99, "note": "test"}
        )
        status, answer = self.post(2)
        self.assertEqual((status, answer["error"]["code"]), (402, "insufficient_credit"), answer)
        self.assertIn("needs 2 SMS, your balance is 1 SMS", answer["error"]["message"], "the pool's balance")
