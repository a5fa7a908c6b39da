import json

from odoo.tests import HttpCase, new_test_user, tagged

from .common import tour_signals

API = "/sms_gateway/api/v1"


@tagged("post_install", "-at_install")
class TestSmsApplicationTour(HttpCase):
    """Issue 12's newcomer's path in a real browser: an SMS manager creates an application, generates its key
    and reads it in Odoo's dialog; the application sends an SMS with that key over HTTP and retries it; the
    manager sees the SMS once in the history, the application as its origin."""

    def test_application_tour(self):
        company = self.env.ref("base.main_company")
        company.country_id = self.env.ref("base.fr")
        self.env["sms.gateway.account"].create(
            {"name": "Sandbox", "provider": "sandbox", "company_id": company.id, "sender": "MAIRIE"}
        )
        self.env["sms.credit.move"].create(
            {"company_id": company.id, "move_type": "topup", "quantity": 50, "note": "tour top-up"}
        )
        new_test_user(
            self.env,
            login="tour_sms_manager",
            name="Claire Gestion",
            groups="base.group_user,sms_gateway.group_sms_manager",
            company_id=company.id,
        )
        guichet = new_test_user(
            self.env,
            login="tour_guichet",
            name="Guichet en ligne",
            groups="base.group_user,sms_gateway.group_sms_user",
            company_id=company.id,
        )
        keys = []
        with tour_signals(apikey=lambda browser, key: keys.append(key)):
            self.start_tour("/odoo", "sms_gateway_application_tour", login="tour_sms_manager")
        application = self.env["sms.gateway.application"].search([("name", "=", "Portail citoyen")])
        self.assertEqual(len(application), 1)
        self.assertEqual(application.user_id, guichet)
        self.assertEqual(application.company_id, company)
        self.assertEqual(len(keys), 1, "the dialog showed one key, read by the tour")
        self.assertEqual(application.key_index, f"{keys[0][:8]}…")

        # the application, with the key copied from the dialog, over real HTTP; then a retry
        def post():
            return self.opener.post(
                f"{self.base_url()}{API}/messages",
                data=json.dumps({"recipients": ["06 12 34 56 78"], "text": "Votre dossier est prêt."}),
                headers={
                    "Authorization": f"Bearer {keys[0]}",
                    "Content-Type": "application/json",
                    "Idempotency-Key": "dossier-2026-0042",
                },
                timeout=30,
            )

        first = post()
        self.assertEqual(first.status_code, 201, first.text)
        self.assertNotIn("Idempotent-Replayed", first.headers)
        again = post()
        self.assertEqual(again.status_code, 201, again.text)
        self.assertEqual(again.headers.get("Idempotent-Replayed"), "true")
        self.assertEqual(again.json(), first.json())
        sms = self.env["sms.sms"].search([("application_id", "=", application.id)])
        self.assertEqual(len(sms), 1, "a retry with the same Idempotency-Key sends nothing more")
        self.assertEqual(sms.id, first.json()["messages"][0]["id"])
        self.assertEqual((sms.number, sms.origin_label, sms.create_uid), ("+33612345678", "Portail citoyen", guichet))
        self.assertEqual(company.sms_credit_balance, 49)

        self.start_tour("/odoo", "sms_gateway_application_history_tour", login="tour_sms_manager")
