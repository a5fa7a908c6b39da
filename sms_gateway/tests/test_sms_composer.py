from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import SmsGatewayCase


@tagged("post_install", "-at_install")
class TestSmsComposer(SmsGatewayCase):
    """The contacts list "Send SMS" (sms.composer in mass mode) with its recap, as the UI uses it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Partner = cls.env["res.partner"]
        france = cls.env.ref("base.fr")
        cls.partner_dup = Partner.create({"name": "Alice Double", "mobile": "+33612345678", "country_id": france.id})
        cls.partner_invalid = Partner.create({"name": "Carl Faux", "mobile": "12", "country_id": france.id})
        cls.partner_missing = Partner.create({"name": "Dora Sansnum", "country_id": france.id})
        cls.partner_bl = Partner.create({"name": "Eve Liste", "mobile": "06 11 11 11 11", "country_id": france.id})
        cls.env["phone.blacklist"].sudo().create({"number": "+33611111111"})
        cls.all_partners = (
            cls.partner_a | cls.partner_b | cls.partner_dup | cls.partner_invalid | cls.partner_missing | cls.partner_bl
        )

    def composer(self, partners, body="Bonjour ça va ou bien Répét ce soir", user=None, **context):
        env = self.env(user=user or self.user_a)
        ctx = {
            "active_model": "res.partner",
            "active_ids": partners.ids,
            "default_composition_mode": "mass",
            "default_mass_keep_log": True,
            "default_res_ids": partners.ids,
            **context,
        }
        return env["sms.composer"].with_context(**ctx).create({"body": body})

    def sms_of(self, partners):
        return self.env["sms.sms"].sudo().search([("partner_id", "in", partners.ids)])

    # ------------------------------------------------------------
    # Recap
    # ------------------------------------------------------------
    def test_recap_figures_and_send(self):
        self.topup(self.company_a, 228)
        composer = self.composer(self.all_partners)
        self.assertTrue(composer.sms_gateway_active)
        self.assertEqual(composer.sms_gateway_account_id, self.account_a)
        self.assertEqual(composer.sms_recipient_count, 6)
        self.assertEqual(composer.sms_valid_count, 2)
        self.assertEqual(composer.sms_invalid_count, 1)
        self.assertEqual(composer.sms_missing_count, 1)
        self.assertEqual(composer.sms_duplicate_count, 1)
        self.assertEqual(composer.sms_blacklist_count, 1)
        self.assertIn("Carl Faux", composer.sms_invalid_names)
        self.assertIn("Dora Sansnum", composer.sms_invalid_names)
        self.assertEqual(composer.sms_segment_count, 1)
        self.assertEqual(composer.sms_encoding, "UCS-2")  # ç is not in GSM-7 (Ç is)
        self.assertEqual(composer.sms_credit_needed, 2)
        self.assertEqual(composer.sms_credit_balance, 228)
        self.assertEqual(composer.sms_credit_after, 226)
        self.assertFalse(composer.sms_send_problem)
        invalid_action = composer.action_sms_open_invalid()
        self.assertEqual(
            self.env["res.partner"].search(invalid_action["domain"]), self.partner_invalid | self.partner_missing
        )

        result = composer.action_send_sms()
        self.assertEqual(result["tag"], "display_notification")
        sms = self.sms_of(self.all_partners)
        self.assertEqual(len(sms), 6)
        queued = sms.filtered(lambda s: s.state == "outgoing")
        self.assertEqual(queued.partner_id, self.partner_a | self.partner_b)
        self.assertEqual(
            sorted(queued.mapped("number")), sorted((self.partner_a | self.partner_b).mapped("phone_sanitized"))
        )
        self.assertEqual(
            sorted(sms.filtered(lambda s: s.state == "canceled").mapped("failure_type")),
            ["sms_blacklist", "sms_duplicate", "sms_number_format", "sms_number_missing"],
        )
        self.assertEqual(sum(sms.mapped("credit_charged")), 2, "only valid, unique, non-blacklisted are charged")
        self.assertEqual(self.balance(self.company_a), 226)
        self.assertEqual(set(sms.mapped("origin_label")), {"Manual send"})

        batch = composer.sms_send_batch_id
        self.assertEqual(batch.sms_ids, sms)
        self.assertEqual(batch.user_id, self.user_a)
        self.assertEqual(batch.company_id, self.company_a)
        self.assertEqual((batch.valid_count, batch.invalid_count, batch.duplicate_count), (2, 2, 1))
        self.assertEqual((batch.credit_total, batch.queued_count, batch.failed_count), (2, 2, 4))
        self.assertEqual(batch.state, "queued")
        self.assertIn(batch, self.env["sms.send.batch"].search([("state", "=", "queued")]))
        cron = self.env.ref("sms.ir_cron_sms_scheduler_action")
        self.assertTrue(self.env["ir.cron.trigger"].sudo().search([("cron_id", "=", cron.id)]), "cron woken")

        self.run_queue()
        batch.invalidate_recordset()
        self.assertEqual((batch.sent_count, batch.queued_count, batch.state), (2, 0, "done"))
        self.assertEqual(batch.action_open_sms()["domain"], [("send_batch_id", "=", batch.id)])

    def test_dynamic_body_segments_per_recipient(self):
        self.topup(self.company_a, 100)
        self.partner_b.name = "B" * 170
        composer = self.composer(self.partner_a | self.partner_b, body="Bonjour {{ object.name }}")
        self.assertTrue(composer.sms_body_dynamic)
        self.assertEqual((composer.sms_segment_min, composer.sms_segment_max), (1, 2))
        self.assertEqual(composer.sms_credit_needed, 3)
        composer.action_send_sms()
        sms = self.sms_of(self.partner_a | self.partner_b)
        self.assertIn("Bonjour Alice Martin", sms.mapped("body"))
        self.assertEqual(sum(sms.mapped("credit_charged")), 3)

    def test_single_send_recap(self):
        self.topup(self.company_a, 10)
        composer = (
            self.env(user=self.user_a)["sms.composer"]
            .with_context(default_composition_mode="comment", default_res_model="res.partner")
            .create({"body": "Rappel €", "res_id": self.partner_a.id})
        )
        self.assertTrue(composer.comment_single_recipient)
        self.assertEqual(composer.sms_valid_count, 1)
        self.assertEqual(composer.sms_credit_needed, 1)
        self.assertEqual(composer.sms_credit_after, 9)
        composer.action_send_sms()
        self.assertEqual(composer.sms_send_batch_id.sms_ids.credit_charged, 1)
        self.assertEqual(self.balance(self.company_a), 9)

    # ------------------------------------------------------------
    # Credit
    # ------------------------------------------------------------
    def test_insufficient_credit_refused(self):
        self.topup(self.company_a, 1)
        composer = self.composer(self.partner_a | self.partner_b)
        self.assertFalse(composer.sms_credit_sufficient)
        self.assertEqual(composer.sms_credit_after, -1)
        message = "Insufficient credit: this send needs 2 SMS, your balance is 1 SMS."
        self.assertIn(message, composer.sms_send_problem)
        with self.assertRaises(UserError) as error:
            composer.action_send_sms()
        self.assertIn(message, str(error.exception))
        self.assertFalse(self.sms_of(self.partner_a | self.partner_b))
        self.assertEqual(self.balance(self.company_a), 1)

    def test_insufficient_credit_thousands(self):
        self.topup(self.company_a, 228)
        self.account_a.credits_per_segment = 620
        composer = self.composer(self.partner_a | self.partner_b)
        self.assertIn("this send needs 1,240 SMS, your balance is 228 SMS.", composer.sms_send_problem)

    # ------------------------------------------------------------
    # Company settings
    # ------------------------------------------------------------
    def test_optout_mention_counted(self):
        self.topup(self.company_a, 100)
        self.company_a.sms_optout_mention = "STOP 36608"
        composer = self.composer(self.partner_a, body="a" * 149)
        self.assertEqual(composer.sms_final_body, "a" * 149 + " STOP 36608")
        self.assertEqual((composer.sms_segment_count, composer.sms_credit_needed), (1, 1))
        composer.body = "a" * 150
        self.assertEqual((composer.sms_segment_count, composer.sms_credit_needed), (2, 2))
        composer.action_send_sms()
        sms = self.sms_of(self.partner_a)
        self.assertEqual(sms.body, "a" * 150 + " STOP 36608")
        self.assertEqual((sms.sms_segment_count, sms.credit_charged), (2, 2))

    def test_max_length(self):
        self.topup(self.company_a, 100)
        self.company_a.write({"sms_max_length": 149, "sms_optout_mention": "STOP 36608"})
        composer = self.composer(self.partner_a, body="a" * 150)
        self.assertIn("150 characters", composer.sms_send_problem)
        with self.assertRaises(UserError):
            composer.action_send_sms()
        self.assertFalse(self.sms_of(self.partner_a))
        composer.body = "a" * 149
        self.assertFalse(composer.sms_send_problem)
        composer.action_send_sms()
        self.assertEqual(self.sms_of(self.partner_a).sms_segment_count, 1)

    def test_accent_replacement(self):
        self.topup(self.company_a, 100)
        body = "Ça va ? Répét ce soir, ô joie"
        composer = self.composer(self.partner_a, body=body)
        self.assertEqual(composer.sms_encoding, "UCS-2")
        self.company_a.sms_replace_accents = True
        composer = self.composer(self.partner_a, body=body)
        self.assertEqual(composer.sms_final_body, "Ça va ? Répét ce soir, o joie")
        self.assertEqual(composer.sms_encoding, "GSM-7")
        composer.action_send_sms()
        sms = self.sms_of(self.partner_a)
        self.assertEqual((sms.body, sms.sms_encoding), ("Ça va ? Répét ce soir, o joie", "GSM-7"))

    def test_admin_forbidden(self):
        self.topup(self.company_a, 100)
        admin = self.env.ref("base.user_admin")
        admin.write({"company_ids": [(4, self.company_a.id)]})
        self.company_a.sms_forbid_admin = True
        composer = self.composer(self.partner_a, user=admin, allowed_company_ids=[self.company_a.id])
        self.assertTrue(composer.sms_admin_forbidden)
        with self.assertRaises(UserError) as error:
            composer.action_send_sms()
        self.assertIn("administrator account", str(error.exception))
        self.assertFalse(self.sms_of(self.partner_a))
        self.company_a.sms_forbid_admin = False
        composer = self.composer(self.partner_a, user=admin, allowed_company_ids=[self.company_a.id])
        composer.action_send_sms()
        self.assertEqual(len(self.sms_of(self.partner_a)), 1)

    # ------------------------------------------------------------
    # Groups
    # ------------------------------------------------------------
    def test_groups(self):
        self.topup(self.company_a, 100)
        self.env["res.config.settings"].create({"sms_restrict_sending": True}).execute()
        self.user_a.groups_id = [(4, self.env.ref("sms_gateway.group_sms_user").id)]
        composer = self.composer(self.partner_a, user=self.reader_a)
        with self.assertRaises(AccessError):
            composer.action_send_sms()
        self.assertFalse(self.sms_of(self.partner_a))
        composer = self.composer(self.partner_a)
        self.assertFalse(composer.sms_can_top_up)
        composer.action_send_sms()
        self.assertEqual(len(self.sms_of(self.partner_a)), 1)
        composer = self.composer(self.partner_b, user=self.manager_a)
        self.assertTrue(composer.sms_can_top_up)
        action = composer.action_sms_top_up()
        self.assertEqual(action["res_model"], "sms.credit.move")
        self.assertEqual(action["context"]["default_company_id"], self.company_a.id)
        self.assertEqual(action["context"]["default_move_type"], "topup")
        move = (
            self.env(user=self.manager_a)["sms.credit.move"]
            .with_context(**action["context"])
            .create({"quantity": 500, "note": "top-up from the recap"})
        )
        self.assertEqual((move.company_id, move.move_type), (self.company_a, "topup"))
        self.assertEqual(self.balance(self.company_a), 599)

    # ------------------------------------------------------------
    # Bad input: clear message, nothing queued, nothing charged
    # ------------------------------------------------------------
    def assert_refused(self, composer, text, partners):
        with self.assertRaises(UserError) as error:
            composer.action_send_sms()
        self.assertIn(text, str(error.exception))
        self.assertIn("Nothing was sent.", str(error.exception))
        self.assertFalse(self.sms_of(partners))
        self.assertEqual(self.balance(self.company_a), 100)

    def test_bad_inputs(self):
        self.topup(self.company_a, 100)
        self.assert_refused(self.composer(self.partner_a, body="   \n "), "Your message is empty", self.partner_a)
        no_number = self.partner_invalid | self.partner_missing
        self.assert_refused(self.composer(no_number), "None of the selected recipients", no_number)
        self.assert_refused(self.composer(self.partner_bl), "blacklisted or opted out", self.partner_bl)

    def test_template_render_failure(self):
        self.topup(self.company_a, 100)
        self.partner_a.color = 4
        partners = self.partner_a | self.partner_b
        composer = self.composer(partners, body="Score {{ 100 // object.color }}", user=self.env.ref("base.user_root"))
        composer = composer.with_company(self.company_a)
        with self.assertRaises(UserError) as error:
            composer.with_context(allowed_company_ids=[self.company_a.id]).action_send_sms()
        self.assertIn("could not be written for 1 recipient(s) (Bruno Petit)", str(error.exception))
        self.assertFalse(self.sms_of(partners))

    # ------------------------------------------------------------
    # Selection
    # ------------------------------------------------------------
    def test_select_all_by_domain_beyond_active_ids_limit(self):
        self.topup(self.company_a, 100)
        self.env["ir.config_parameter"].sudo().set_param("web.active_ids_limit", 3)
        bulk = self.env["res.partner"].create(
            [{"name": f"Bulk {i}", "ref": "BULK", "mobile": f"+3361000000{i}"} for i in range(5)]
        )
        domain = [("ref", "=", "BULK")]
        composer = self.composer(bulk[:3], active_domain=domain)
        self.assertEqual(composer.res_domain, repr(domain))
        self.assertFalse(composer.res_ids)
        self.assertEqual(composer.res_ids_count, 5)
        self.assertEqual((composer.sms_recipient_count, composer.sms_credit_needed), (5, 5))
        composer.action_send_sms()
        self.assertEqual(len(self.sms_of(bulk)), 5)
        self.assertEqual(self.balance(self.company_a), 95)
        # a selection below the cap keeps its ids, whatever the list's domain
        composer = self.composer(bulk[:2], active_domain=domain)
        self.assertFalse(composer.res_domain)
        self.assertEqual(composer.sms_recipient_count, 2)

    def test_large_res_ids_without_literal_eval(self):
        ids = list(range(1, 30001))
        composer = self.env["sms.composer"].new({"res_model": "res.partner", "res_ids": repr(ids)})
        self.assertGreater(len(composer.res_ids), 100 * 1024)
        self.assertEqual(composer.res_ids_count, 30000)

    def test_no_account_keeps_stock(self):
        company_c = self.env["res.company"].create({"name": "Sans compte", "country_id": self.env.ref("base.fr").id})
        user_c = self.env["res.users"].create(
            {
                "name": "User C",
                "login": "sms_user_c",
                "company_id": company_c.id,
                "company_ids": [(6, 0, company_c.ids)],
                "groups_id": [(6, 0, [self.env.ref("base.group_user").id])],
            }
        )
        composer = self.composer(self.partner_a, user=user_c)
        self.assertFalse(composer.sms_gateway_active)
        self.assertFalse(composer.action_send_sms())
        sms = self.sms_of(self.partner_a)
        self.assertEqual(len(sms), 1)
        self.assertFalse(sms.gateway_account_id)
        self.assertFalse(sms.send_batch_id)
