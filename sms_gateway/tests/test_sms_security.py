from odoo.exceptions import AccessError
from odoo.tests import tagged, users

from .common import SmsGatewayCase

SECRETS = ["username", "password", "api_key", "service_id", "space_id", "webhook_token", "base_url"]


@tagged("post_install", "-at_install")
class TestSmsSecurity(SmsGatewayCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.account_a.write({"username": "userkey-A", "password": "s3cret-A", "api_key": "key-A"})
        cls.topup(cls.company_a, 50)
        cls.sms_a = cls.env["sms.sms"].create({"number": "+33612345678", "body": "A", "company_id": cls.company_a.id})
        cls.sms_b = cls.env["sms.sms"].create({"number": "+33612345678", "body": "B", "company_id": cls.company_b.id})

    def _restrict(self, restricted=True):
        self.env["res.config.settings"].create({"sms_restrict_sending": restricted}).execute()

    @users("sms_reader_a", "sms_user_a")
    def test_credentials_hidden_from_non_managers(self):
        account = self.env["sms.gateway.account"].browse(self.account_a.id)
        self.assertEqual(account.name, "Sandbox A")
        for field in ("password", "api_key", "username"):
            with self.assertRaises(AccessError):
                account.read([field])
        values = account.search_read([("id", "=", account.id)])[0]
        self.assertFalse(set(SECRETS) & set(values), "search_read does not return credentials")
        self.assertFalse(set(SECRETS) & set(self.env["sms.gateway.account"].fields_get()))
        exported = account.export_data(["name", "provider"])["datas"]
        self.assertEqual(exported, [["Sandbox A", "Sandbox (no real SMS)"]])
        with self.assertRaises(AccessError):
            account.export_data(["password"])
        with self.assertRaises(AccessError):
            account.write({"sender": "HACK"})

    @users("sms_manager_a")
    def test_manager_reads_and_manages_credentials(self):
        account = self.env["sms.gateway.account"].browse(self.account_a.id)
        self.assertEqual(account.read(["password", "api_key"])[0]["password"], "s3cret-A")
        account.write({"password": "new"})
        self.assertEqual(account.password, "new")
        self.env["sms.credit.move"].create({"move_type": "topup", "quantity": 5, "company_id": self.company_a.id})

    @users("sms_reader_a", "sms_user_a", "sms_manager_a")
    def test_company_walls(self):
        Account = self.env["sms.gateway.account"]
        self.assertEqual(Account.search([]).company_id, self.company_a)
        self.assertNotIn(self.account_b.id, Account.search([]).ids)
        with self.assertRaises(AccessError):
            Account.browse(self.account_b.id).read(["name"])
        with self.assertRaises(AccessError):
            self.env["sms.sms"].browse(self.sms_b.id).read(["body"])
        self.assertNotIn(self.sms_b.id, self.env["sms.sms"].search([]).ids)

    @users("sms_reader_a", "sms_manager_a")
    def test_readers_read_the_company_history_and_credits(self):
        moves = self.env["sms.credit.move"].search([])
        self.assertTrue(moves)
        self.assertEqual(moves.company_id, self.company_a)
        history = self.env["sms.sms"].search([])
        self.assertIn(self.sms_a.id, history.ids)
        self.assertNotIn(self.sms_b.id, history.ids)

    @users("sms_reader_a")
    def test_history_read_only_below_manager(self):
        sms = self.env["sms.sms"].browse(self.sms_a.id)
        self.assertEqual(sms.body, "A")
        self.assertEqual(sms.credit_charged, 1)
        with self.assertRaises(AccessError):
            sms.write({"body": "changed"})
        with self.assertRaises(AccessError):
            self.env["sms.credit.move"].create({"move_type": "topup", "quantity": 5, "company_id": self.company_a.id})

    def test_need_to_know_history(self):
        """A sender who is not a Reader sees the SMS they sent, not the company's; through every read path."""
        mine = self.queue_sms(self.company_a, "+33612345601", body="Mon rappel", user=self.user_a)
        colleague = self.queue_sms(self.company_a, "+33612345602", body="Dossier social", user=self.manager_a)
        self.assertEqual((mine.create_uid, colleague.create_uid), (self.user_a, self.manager_a))
        Sms = self.env["sms.sms"].with_user(self.user_a)
        self.assertFalse(self.user_a.has_group("sms_gateway.group_sms_reader"), "sending does not imply reading")
        self.assertEqual(Sms.search([]), mine)
        self.assertEqual([row["body"] for row in Sms.search_read([], ["body"])], ["Mon rappel"])
        self.assertEqual(Sms.search_count([]), 1)
        groups = Sms.read_group([], ["company_id"], ["company_id"])
        self.assertEqual([group["company_id_count"] for group in groups], [1])
        self.assertEqual(Sms.search([]).export_data(["body", "number"])["datas"], [["Mon rappel", "+33612345601"]])
        with self.assertRaises(AccessError):
            Sms.browse(colleague.id).read(["body"])
        with self.assertRaises(AccessError):
            Sms.browse(self.sms_a.id).read(["number"])
        with self.assertRaises(AccessError):
            self.env["sms.credit.move"].with_user(self.user_a).search([])
        with self.assertRaises(AccessError):
            mine.with_user(self.user_a).write({"body": "changed"})
        # Readers (and managers) see the whole history of their companies
        for reader in (self.reader_a, self.manager_a):
            seen = self.env["sms.sms"].with_user(reader).search([])
            self.assertLessEqual(self.sms_a | mine | colleague, seen)
            self.assertNotIn(self.sms_b, seen)
        # the sends (SMS > Sends) follow the same rule
        Batch = self.env["sms.send.batch"].sudo()
        own_batch = Batch.create({"name": "mine", "user_id": self.user_a.id, "company_id": self.company_a.id})
        other_batch = Batch.create({"name": "other", "user_id": self.manager_a.id, "company_id": self.company_a.id})
        self.assertEqual(self.env["sms.send.batch"].with_user(self.user_a).search([]), own_batch)
        self.assertLessEqual(own_batch | other_batch, self.env["sms.send.batch"].with_user(self.reader_a).search([]))

    def test_everyone_sends_by_default(self):
        plain = self.env["res.users"].create(
            {
                "name": "Plain",
                "login": "plain_user",
                "email": "plain@example.com",
                "groups_id": [
                    (6, 0, (self.env.ref("base.group_user") | self.env.ref("base.group_partner_manager")).ids)
                ],
                "company_id": self.company_a.id,
                "company_ids": [(6, 0, self.company_a.ids)],
            }
        )
        self.assertTrue(plain.has_group("sms_gateway.group_sms_user"), "stock behaviour: every internal user sends")
        self.partner_a.with_user(plain).with_company(self.company_a)._message_sms("Bonjour")
        self.assertTrue(self.env["sms.sms"].search([("partner_id", "=", self.partner_a.id), ("body", "=", "Bonjour")]))

    def test_restriction_blocks_every_entry_point(self):
        self._restrict(True)
        # standard implied_group behaviour: the group is taken from every internal user but SMS managers;
        # the administrator then gives it to the people who send
        self.assertFalse(self.reader_a.has_group("sms_gateway.group_sms_user"))
        self.assertTrue(self.manager_a.has_group("sms_gateway.group_sms_user"), "managers keep sending")
        self.assertFalse(self.user_a.has_group("sms_gateway.group_sms_user"))
        self.user_a.groups_id = [(4, self.env.ref("sms_gateway.group_sms_user").id)]
        plain = self.env["res.users"].create(
            {
                "name": "Plain",
                "login": "plain_user2",
                "email": "plain2@example.com",
                "groups_id": [
                    (6, 0, (self.env.ref("base.group_user") | self.env.ref("base.group_partner_manager")).ids)
                ],
                "company_id": self.company_a.id,
                "company_ids": [(6, 0, self.company_a.ids)],
            }
        )
        self.assertFalse(plain.has_group("sms_gateway.group_sms_user"))
        self.assertTrue(self.reader_a.has_group("sms_gateway.group_sms_reader"), "readers still read the history")
        for blocked in (self.reader_a, plain):
            partner = self.partner_a.with_user(blocked).with_company(self.company_a)
            with self.assertRaisesRegex(AccessError, "not allowed to send SMS"):
                partner._message_sms("Bonjour")
            composer = (
                self.env["sms.composer"]
                .with_user(blocked)
                .with_context(active_model="res.partner", active_ids=self.partner_a.ids)
                .create({"body": "Hello", "composition_mode": "mass"})
            )
            with self.assertRaisesRegex(AccessError, "not allowed to send SMS"):
                composer.action_send_sms()
        # an SMS user still sends
        self.partner_a.with_user(self.user_a).with_company(self.company_a)._message_sms("Autorisé")
        self.assertTrue(self.env["sms.sms"].search([("body", "=", "Autorisé")]))
        # switching the restriction off gives sending back to every internal user
        self._restrict(False)
        self.assertTrue(plain.has_group("sms_gateway.group_sms_user"))
