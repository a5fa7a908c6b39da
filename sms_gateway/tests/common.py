from odoo.tests import TransactionCase, new_test_user

from ..providers.dispatch import DispatchRun


class SmsGatewayCase(TransactionCase):
    """Two French companies, each with a sandbox account, and test users per SMS group.

    Company A: ``reader_a``, ``user_a``, ``manager_a``; company B: ``user_b``.
    ``self.partner_a`` / ``self.partner_b`` have valid French mobiles.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True, mail_notrack=True))
        france = cls.env.ref("base.fr")
        cls.company_a = cls.env["res.company"].create({"name": "Mairie A", "country_id": france.id})
        cls.company_b = cls.env["res.company"].create({"name": "Département B", "country_id": france.id})
        cls.account_a = cls.env["sms.gateway.account"].create(
            {"name": "Sandbox A", "provider": "sandbox", "company_id": cls.company_a.id, "sender": "MAIRIEA"}
        )
        cls.account_b = cls.env["sms.gateway.account"].create(
            {"name": "Sandbox B", "provider": "sandbox", "company_id": cls.company_b.id}
        )

        def user(login, groups, company):
            # like real office users: they may edit contacts (post on them) and export lists
            groups = f"{groups},base.group_partner_manager,base.group_allow_export"
            return new_test_user(
                cls.env,
                login=login,
                groups=groups,
                company_id=company.id,
                company_ids=[(6, 0, company.ids)],
                email=f"{login}@example.com",
            )

        cls.reader_a = user("sms_reader_a", "base.group_user,sms_gateway.group_sms_reader", cls.company_a)
        cls.user_a = user("sms_user_a", "base.group_user,sms_gateway.group_sms_user", cls.company_a)
        cls.manager_a = user("sms_manager_a", "base.group_user,sms_gateway.group_sms_manager", cls.company_a)
        cls.user_b = user("sms_user_b", "base.group_user,sms_gateway.group_sms_user", cls.company_b)
        cls.partner_a = cls.env["res.partner"].create(
            {"name": "Alice Martin", "mobile": "06 12 34 56 78", "country_id": france.id, "company_id": False}
        )
        cls.partner_b = cls.env["res.partner"].create(
            {"name": "Bruno Petit", "mobile": "+33 7 51 23 45 67", "country_id": france.id, "company_id": False}
        )

    @classmethod
    def topup(cls, company, quantity):
        return cls.env["sms.credit.move"].create(
            {"company_id": company.id, "move_type": "topup", "quantity": quantity, "note": "test top-up"}
        )

    def queue_sms(self, company, number, body="Rappel : rendez-vous demain à 9h.", user=None, **vals):
        env = self.env(user=user) if user else self.env
        return (
            env["sms.sms"]
            .sudo()
            .with_company(company)
            .create({"number": number, "body": body, "company_id": company.id, **vals})
        )

    def balance(self, company):
        company.invalidate_recordset(["sms_credit_balance", "sms_credit_reserved"])
        return company.sms_credit_balance

    def run_queue(self):
        """Run the SMS queue as its cron does (recovery, claim, dispatch, settlement), in the test's
        transaction: what ``process_email_queue()`` is to mail's tests."""
        self.env["sms.sms"].sudo()._process_queue()

    @staticmethod
    def dispatch_run():
        """A dispatch run that stays in the test's transaction, for tests of one step of the queue."""
        return DispatchRun(auto_commit=False)
