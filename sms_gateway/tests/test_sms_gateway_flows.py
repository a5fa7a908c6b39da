from odoo.tests import tagged

from odoo.addons.sms.tests.common import MockSMS

from .common import SmsGatewayCase


@tagged("post_install", "-at_install")
class TestSmsGatewayFlows(SmsGatewayCase, MockSMS):
    """Every Odoo entry point goes through the company's account, and companies without one keep IAP."""

    def test_chatter_sms_through_gateway(self):
        self.topup(self.company_a, 10)
        partner = self.partner_a.with_company(self.company_a).with_user(self.user_a)
        partner.with_context(allowed_company_ids=self.company_a.ids)._message_sms("Votre dossier est prêt.")
        sms = self.env["sms.sms"].search([("partner_id", "=", self.partner_a.id)])
        self.assertEqual(len(sms), 1)
        self.assertEqual(sms.company_id, self.company_a)
        self.assertEqual(sms.gateway_account_id, self.account_a)
        self.assertEqual(sms.number, "+33612345678", "normalised to E.164 with the recipient's country")
        self.assertEqual(sms.origin_label, "Contact", "code sends are labelled with the application")
        self.assertEqual(self.balance(self.company_a), 9)
        self.run_queue()
        self.assertEqual(sms.state, "pending")
        notification = self.env["mail.notification"].search([("sms_id_int", "=", sms.id)])
        self.assertEqual(notification.notification_status, "pending")
        self.assertTrue(sms.exists(), "sent SMS are kept in the history")
        self.assertFalse(sms.to_delete)
        self.env["sms.sms"]._gc_device()
        self.assertTrue(sms.exists())

    def test_chatter_sms_insufficient_credit_notification(self):
        self.partner_a.with_company(self.company_a)._message_sms("Rappel")
        sms = self.env["sms.sms"].search([("partner_id", "=", self.partner_a.id)])
        self.assertEqual((sms.state, sms.failure_type), ("error", "sms_credit"))
        notification = self.env["mail.notification"].search([("sms_id_int", "=", sms.id)])
        self.assertEqual((notification.notification_status, notification.failure_type), ("exception", "sms_credit"))

    def test_company_without_account_keeps_iap(self):
        company_c = self.env["res.company"].create({"name": "Sans compte"})
        with self.mockSMSGateway():
            sms = self.env["sms.sms"].create({"number": "+33612345678", "body": "IAP", "company_id": company_c.id})
            self.assertFalse(sms.gateway_account_id)
            self.assertFalse(sms.credit_charged)
            sms.send()
        self.assertEqual([(s["number"], s["body"]) for s in self._sms], [("+33612345678", "IAP")], "sent by IAP")
        self.assertEqual(sms.state, "pending")
        self.assertEqual(self.balance(company_c), 0)

    def test_numbers_normalised_or_refused(self):
        self.topup(self.company_a, 10)
        belgian = self.env["res.partner"].create({"name": "Belge", "country_id": self.env.ref("base.be").id})
        sms_be = self.queue_sms(self.company_a, "0470 12 34 56", partner_id=belgian.id)
        self.assertEqual(sms_be.number, "+32470123456", "country from the recipient first")
        sms_fr = self.queue_sms(self.company_a, "06 12 34 56 78")
        self.assertEqual(sms_fr.number, "+33612345678", "then the company's country")
        invalid = self.queue_sms(self.company_a, "12345")
        self.assertEqual((invalid.state, invalid.failure_type), ("error", "sms_number_format"))
        self.assertEqual(invalid.error_message, "Invalid number: 12345")
        missing = self.queue_sms(self.company_a, "")
        self.assertEqual((missing.state, missing.failure_type), ("error", "sms_number_missing"))
        self.assertEqual(self.balance(self.company_a), 8, "only the two valid numbers are charged")
        self.run_queue()
        self.assertEqual(invalid.state, "error", "never sent")

    def test_composer_origin_and_charge(self):
        self.topup(self.company_a, 10)
        composer = (
            self.env["sms.composer"]
            .with_user(self.user_a)
            .with_context(
                active_model="res.partner",
                active_ids=(self.partner_a | self.partner_b).ids,
                allowed_company_ids=self.company_a.ids,
            )
            .create({"body": "Fermeture exceptionnelle demain", "composition_mode": "mass", "mass_keep_log": False})
        )
        composer.action_send_sms()
        sms = self.env["sms.sms"].search([("partner_id", "in", (self.partner_a | self.partner_b).ids)])
        self.assertEqual(len(sms), 2)
        self.assertEqual(set(sms.mapped("origin_label")), {"Manual send"})
        self.assertEqual(set(sms.mapped("company_id")), {self.company_a})
        self.assertEqual(self.balance(self.company_a), 8)

    def test_server_action_origin(self):
        self.topup(self.company_a, 10)
        template = self.env["sms.template"].create(
            {
                "name": "Rappel RDV",
                "model_id": self.env.ref("base.model_res_partner").id,
                "body": "Rappel {{ object.name }}",
            }
        )
        action = self.env["ir.actions.server"].create(
            {
                "name": "Rappel de rendez-vous",
                "model_id": self.env.ref("base.model_res_partner").id,
                "state": "sms",
                "sms_template_id": template.id,
                "sms_method": "sms",
            }
        )
        action.with_company(self.company_a).with_context(
            active_model="res.partner", active_ids=self.partner_a.ids, allowed_company_ids=self.company_a.ids
        ).run()
        sms = self.env["sms.sms"].search([("partner_id", "=", self.partner_a.id)])
        self.assertEqual(sms.origin_label, "Rappel de rendez-vous")
        self.assertEqual(sms.body, "Rappel Alice Martin")
        self.assertEqual(sms.credit_charged, 1)

    def test_explicit_resend_charges_again(self):
        self.topup(self.company_a, 3)
        sms = self.queue_sms(self.company_a, "+33600000001")  # sandbox: number refused (permanent)
        self.run_queue()
        self.assertEqual((sms.state, sms.failure_type), ("error", "sms_number_format"))
        self.assertEqual(self.balance(self.company_a), 3)
        sms.action_set_outgoing()
        sms.number = "+33612345678"
        self.run_queue()
        self.assertEqual(sms.state, "pending")
        self.assertEqual(self.balance(self.company_a), 2)

    def test_archived_account_falls_back_to_next(self):
        self.topup(self.company_a, 3)
        backup = self.env["sms.gateway.account"].create(
            {"name": "Backup", "provider": "sandbox", "company_id": self.company_a.id, "sequence": 20}
        )
        sms = self.queue_sms(self.company_a, "+33612345678")
        self.account_a.active = False
        self.run_queue()
        self.assertEqual((sms.state, sms.gateway_account_id), ("pending", backup))

    def test_account_test_connection(self):
        action = self.account_a.with_user(self.manager_a).action_test_connection()
        self.assertEqual(action["params"]["type"], "success")
        self.assertIn("no SMS leaves Odoo", action["params"]["message"])
        self.assertIn("OK", self.account_a.last_test_message)

    def test_account_test_connection_failure(self):
        self.account_a.write(
            {"provider": "aspsms", "base_url": "http://127.0.0.1:9", "username": "key", "password": "pw", "timeout": 1}
        )
        # nothing listens on port 9: a real connection refused
        action = self.account_a.with_user(self.manager_a).action_test_connection()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertIn("Provider unreachable", action["params"]["message"])
        self.assertIn("Failed", self.account_a.last_test_message)

    def test_history_retention(self):
        self.topup(self.company_a, 3)
        old = self.queue_sms(self.company_a, "+33612345678")
        self.run_queue()
        recent = self.queue_sms(self.company_a, "+33612345678")
        self.run_queue()
        self.env.cr.execute("UPDATE sms_sms SET create_date = now() - interval '40 days' WHERE id = %s", [old.id])
        self.env["sms.sms"].invalidate_model(["create_date"])
        self.env["sms.sms"]._gc_gateway_history()
        self.assertTrue(old.exists(), "kept forever by default")
        self.company_a.sms_history_retention_days = 30
        self.env["sms.sms"]._gc_gateway_history()
        self.assertFalse(old.exists())
        self.assertTrue(recent.exists())

    def test_history_retention_per_company(self):
        """One pass for every company, each with its own retention."""
        self.topup(self.company_a, 1)
        self.topup(self.company_b, 2)
        a_40 = self.queue_sms(self.company_a, "+33612345678")
        b_40 = self.queue_sms(self.company_b, "+33612345678")
        b_70 = self.queue_sms(self.company_b, "+33612345678")
        self.run_queue()
        self.env.cr.execute(
            "UPDATE sms_sms SET create_date = now() - interval '40 days' WHERE id IN %s", [(a_40.id, b_40.id)]
        )
        self.env.cr.execute("UPDATE sms_sms SET create_date = now() - interval '70 days' WHERE id = %s", [b_70.id])
        self.env["sms.sms"].invalidate_model(["create_date"])
        self.company_a.sms_history_retention_days = 30
        self.company_b.sms_history_retention_days = 60
        self.env["sms.sms"]._gc_gateway_history()
        self.assertFalse(a_40.exists())
        self.assertTrue(b_40.exists(), "within company B's retention")
        self.assertFalse(b_70.exists())

    def test_partner_binding_unchanged(self):
        # the stock "Send SMS" list action on contacts is still there
        action = self.env.ref("sms.res_partner_act_window_sms_composer_multi")
        self.assertEqual(action.binding_model_id, self.env.ref("base.model_res_partner"))
        self.assertEqual(action.res_model, "sms.composer")
