from odoo.tests import tagged

from .common import SmsGatewayCase


@tagged("post_install", "-at_install")
class TestSmsAutomation(SmsGatewayCase):
    """Server actions "Send SMS", automation rules and code all go through the gateway."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.template = cls.env["sms.template"].create(
            {
                "name": "Appointment reminder",
                "model_id": cls.env["ir.model"]._get_id("res.partner"),
                "body": "Bonjour {{ object.name }}, rappel : rendez-vous demain.",
            }
        )
        cls.action = cls.env["ir.actions.server"].create(
            {
                "name": "Rappel rendez-vous J-1",
                "model_id": cls.env["ir.model"]._get_id("res.partner"),
                "state": "sms",
                "sms_template_id": cls.template.id,
                "sms_method": "sms",
            }
        )
        cls.partners = cls.partner_a | cls.env["res.partner"].create(
            {"name": "Bruno Petit", "mobile": "+33 6 11 22 33 44", "country_id": cls.env.ref("base.fr").id}
        )
        cls.env.user.company_id = cls.company_a  # automation runs in the company of the user who triggers it
        cls.env.user.company_ids |= cls.company_a

    def run_like_automation(self, action, records):
        """What base_automation does when a rule fires (``base.automation._process``)."""
        context = {
            "active_model": records._name,
            "active_ids": records.ids,
            "active_id": records.ids[0],
            "__action_done": {},
        }
        return action.sudo().with_company(self.company_a).with_context(**context).run()

    def gateway_sms(self):
        return self.env["sms.sms"].sudo().search([("origin_label", "=", self.action.name)])

    def test_server_action_sends_through_gateway_charged_with_origin(self):
        self.topup(self.company_a, 10)
        self.run_like_automation(self.action, self.partners)
        sms = self.gateway_sms()
        self.assertEqual(len(sms), 2)
        self.assertEqual(sms.gateway_account_id, self.account_a)
        self.assertEqual(self.balance(self.company_a), 8, "charged on queueing")
        self.run_queue()
        self.assertEqual(set(sms.mapped("state")), {"pending"})
        self.assertEqual(sms.credit_move_id.state, "done")
        self.assertIn("Bonjour Alice Martin", sms.filtered(lambda s: s.partner_id == self.partner_a).body)

    def test_server_action_posting_on_chatter(self):
        self.topup(self.company_a, 10)
        self.action.sms_method = "comment"
        self.run_like_automation(self.action, self.partner_a)
        sms = self.gateway_sms()
        self.assertEqual(len(sms), 1)
        self.assertTrue(sms.mail_message_id, "logged in the contact's chatter")
        self.assertIn(sms.state, ("outgoing", "pending"))

    def test_insufficient_credit_does_not_crash_and_notifies_once(self):
        self.topup(self.company_a, 1)
        self.run_like_automation(self.action, self.partners)  # must not raise
        sms = self.gateway_sms()
        self.assertEqual(sorted(sms.mapped("state")), ["error", "outgoing"])
        refused = sms.filtered(lambda s: s.state == "error")
        self.assertEqual(refused.failure_type, "sms_credit")
        self.assertEqual(refused.error_display[:19], "Insufficient credit")
        self.assertEqual(self.balance(self.company_a), 0)
        mails = self.env["mail.mail"].sudo().search([("subject", "like", "insufficient credit")])
        self.assertEqual(len(mails), 1)
        self.assertIn(self.manager_a.partner_id, mails.recipient_ids)
        # the same day, more refusals: no second notification
        self.run_like_automation(self.action, self.partners)
        self.assertEqual(len(self.env["mail.mail"].sudo().search([("subject", "like", "insufficient credit")])), 1)
        # a top-up ends the episode: the next shortage is told again
        self.topup(self.company_a, 1)
        self.run_like_automation(self.action, self.partners)
        self.assertEqual(len(self.env["mail.mail"].sudo().search([("subject", "like", "insufficient credit")])), 2)

    def test_code_message_sms_goes_through_gateway(self):
        self.topup(self.company_a, 10)
        self.partner_a.with_company(self.company_a)._message_sms(
            "Votre dossier est prêt.", partner_ids=self.partner_a.ids
        )
        sms = self.env["sms.sms"].sudo().search([("partner_id", "=", self.partner_a.id)])
        self.assertEqual(len(sms), 1)
        self.assertEqual((sms.gateway_account_id, sms.company_id), (self.account_a, self.company_a))
        self.assertEqual(sms.state, "outgoing", "queued: never sent from the caller's transaction")
        self.run_queue()
        self.assertEqual(sms.state, "pending", "sent by the gateway, not IAP")
        self.assertEqual(self.balance(self.company_a), 9)

    def test_code_sms_create_goes_through_gateway(self):
        self.topup(self.company_a, 10)
        sms = self.queue_sms(self.company_a, "+33612345678", origin_label="Mon script")
        self.run_queue()
        self.assertEqual((sms.state, sms.origin_label, sms.credit_charged), ("pending", "Mon script", 1))

    def test_automation_rule_when_installed(self):
        if "base.automation" not in self.env:
            self.skipTest("base_automation is not installed (not a dependency of sms_gateway)")
        self.topup(self.company_a, 10)
        rule = self.env["base.automation"].create(
            {
                "name": "SMS on new contact",
                "model_id": self.env["ir.model"]._get_id("res.partner"),
                "trigger": "on_create",
                "action_server_ids": [(4, self.action.id)],
            }
        )
        self.assertTrue(rule)
        partner = self.env["res.partner"].create({"name": "Chloé", "mobile": "+33 6 98 76 54 32"})
        sms = self.gateway_sms().filtered(lambda s: s.partner_id == partner)
        self.assertEqual((len(sms), sms.gateway_account_id), (1, self.account_a))
        self.assertEqual((sms.origin_label, sms.credit_charged, sms.number), (self.action.name, 1, "+33698765432"))
