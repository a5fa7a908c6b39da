"""Real SMS queued in Odoo and dispatched through provider accounts pointed at local emulators."""

import sys
import time
from datetime import timedelta
from unittest.mock import patch

from freezegun import freeze_time
from lxml import etree

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged
from odoo.tools.safe_eval import safe_eval

from ..models.sms_gateway_account import CREDENTIAL_FIELDS
from ..providers.base import PROVIDERS
from .common import SmsGatewayCase
from .emulators.aspsms import AspsmsEmulator
from .emulators.base import EmulatorResponse, LoopbackSession
from .emulators.brevo import BrevoEmulator
from .emulators.ovh import OvhEmulator
from .emulators.twilio import TwilioEmulator
from .emulators.vonage import VonageEmulator

SID, TOKEN = "AC" + "0" * 31 + "1", "twilio-token"
UNICODE_BODY = "Rappel : rendez-vous demain 🎉"


class GatewayEmulatorCase(SmsGatewayCase):
    """SmsGatewayCase plus one emulator per provider and accounts whose connectors only talk to them, with
    the account's own (short) timeout: ``_gateway_new_session`` gives a ``LoopbackSession``."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sessions = []

        def new_session(account):
            session = LoopbackSession()
            cls.sessions.append(session)
            return session

        cls.startClassPatcher(patch.object(type(cls.env["sms.gateway.account"]), "_gateway_new_session", new_session))
        cls.aspsms = AspsmsEmulator(credits=1000).start()
        cls.brevo = BrevoEmulator(credits=None).start()
        cls.twilio = TwilioEmulator(SID, TOKEN).start()
        cls.vonage = VonageEmulator(balance=10.0).start()
        cls.ovh = OvhEmulator(credits=500).start()
        for emulator in (cls.aspsms, cls.brevo, cls.twilio, cls.vonage, cls.ovh):
            cls.addClassCleanup(emulator.stop)
        cls.topup(cls.company_a, 100)

    def setUp(self):
        super().setUp()
        self.sessions.clear()
        for emulator in (self.aspsms, self.brevo, self.twilio, self.vonage, self.ovh):
            emulator.reset()
            emulator.hang_seconds = 2.0
            emulator.messages.clear()

    CREDENTIALS = {
        "aspsms": {"username": "ASPSMSUSERKEY", "password": "secret", "sender": "MAIRIEA"},
        "brevo": {"api_key": "xkeysib-test", "sender": "MAIRIEA"},
        "twilio": {"username": SID, "password": TOKEN, "sender": "+15005550006"},
        "vonage": {"api_key": "abcd1234", "password": "Secret-5678", "sender": "MAIRIEA"},
        "ovh": {"service_id": "sms-ab12345-1", "username": "odoo", "password": "s3cret", "sender": "MAIRIEA"},
    }

    def make_account(self, provider, company=None, **vals):
        company = company or self.company_a
        emulator = getattr(self, provider)
        if vals.pop("only", True):  # the only account of the company: no failover to the sandbox
            self.env["sms.gateway.account"].search([("company_id", "=", company.id)]).active = False
        return self.env["sms.gateway.account"].create(
            {
                "name": f"{provider} test",
                "provider": provider,
                "company_id": company.id,
                "sequence": 1,  # before the company's sandbox account
                "base_url": emulator.api_url,
                "timeout": 1.0,
                **self.CREDENTIALS[provider],
                **vals,
            }
        )

    def send(self, numbers, body="Rappel : rendez-vous demain à 9h.", company=None):
        company = company or self.company_a
        sms = self.env["sms.sms"].browse()
        for number in numbers:
            sms |= self.queue_sms(company, number, body=body)
        self.run_queue()
        sms.invalidate_recordset()
        return sms


@tagged("post_install", "-at_install", "sms_gateway_providers")
class TestGatewayProviders(GatewayEmulatorCase):
    # -- success ------------------------------------------------------------
    def test_aspsms_batch_success(self):
        account = self.make_account("aspsms")
        before = self.balance(self.company_a)
        sms = self.send(["+41791234567", "+33612345678", "+33751234567"])
        self.assertEqual(set(sms.mapped("state")), {"pending"})
        self.assertEqual(sms.gateway_account_id, account)
        for record in sms:
            self.assertEqual(record.provider_message_id, record.uuid, "our reference is ASPSMS's id")
            self.assertEqual(self.aspsms.messages[record.uuid]["number"], record.number)
            self.assertTrue(record.sent_date)
        sends = [r for r in self.aspsms.received if r.path.endswith("SendTextSMS")]
        self.assertEqual(len(sends), 1, "one batch call for the three SMS")
        payload = sends[0].json
        self.assertEqual(payload["Originator"], "MAIRIEA")
        self.assertTrue(payload["ForceGSM7bit"])
        self.assertIn(account.webhook_url, payload["URLDeliveryNotification"])
        self.assertEqual(self.balance(self.company_a), before - 3, "credit consumed")
        self.assertEqual(set(sms.credit_move_id.mapped("state")), {"done"})
        # balance refreshed once after the run (CheckCredits), one session for the run
        self.assertEqual(len([r for r in self.aspsms.received if r.path.endswith("CheckCredits")]), 1)
        self.assertEqual(account.provider_balance, 997)
        self.assertTrue(account.provider_balance_date)
        self.assertEqual(len(self.sessions), 1)

    def test_one_session_per_account_and_run(self):
        """Several batches of one run share the account's connector and keep-alive session."""
        self.env["ir.config_parameter"].sudo().set_param("sms_gateway.batch_size", 2)
        self.make_account("brevo")
        sms = self.send(["+33612345678", "+33751234567", "+33612345679", "+33612345670", "+33612345671"])
        self.assertEqual(set(sms.mapped("state")), {"pending"})
        self.assertEqual(len(self.brevo.messages), 5)
        self.assertEqual(len(self.sessions), 1, "one HTTP session for three batches")

    def test_brevo_unicode_sender_and_webhook(self):
        account = self.make_account("brevo")
        sms = self.send(["+33612345678"], body=UNICODE_BODY)
        self.assertEqual(sms.state, "pending")
        self.assertEqual(sms.sms_encoding, "UCS-2")
        received = self.brevo.messages[int(sms.provider_message_id)]
        self.assertEqual(received["recipient"], "33612345678")
        self.assertEqual(received["content"], UNICODE_BODY)
        self.assertIs(received["unicodeEnabled"], True)
        self.assertEqual(received["sender"], "MAIRIEA")
        self.assertEqual(received["type"], "transactional")
        self.assertEqual(received["webUrl"], account.webhook_url)
        self.assertTrue(account.webhook_url.endswith(f"/sms_gateway/dlr/{account.webhook_token}"))

    def test_twilio_success_and_invalid_number(self):
        account = self.make_account("twilio")
        before = self.balance(self.company_a)
        ok, bad = self.send(["+33612345678", "+15005550001"])
        self.assertEqual(ok.state, "pending")
        self.assertTrue(ok.provider_message_id.startswith("SM"))
        self.assertEqual(self.twilio.messages[ok.provider_message_id]["StatusCallback"], account.webhook_url)
        self.assertEqual(bad.state, "error")
        self.assertEqual(bad.failure_type, "sms_number_format")
        self.assertIn("21211", bad.error_message)
        self.assertFalse(bad.provider_message_id)
        self.assertEqual(self.balance(self.company_a), before - 1, "the refused SMS is refunded")
        self.assertEqual(bad.credit_charged, 0)
        self.assertEqual(account.provider_balance, 1000.0)
        self.assertEqual(account.provider_balance_currency, "USD")

    def test_bad_number_neither_retried_nor_cooling_the_account_down(self):
        # a second account could take over: a bad number must not be handed to it, nor stop the first one
        account = self.make_account("twilio", only=False)
        bad, ok = self.send(["+15005550001", "+33612345678"])
        self.assertEqual((bad.state, bad.failure_type), ("error", "sms_number_format"))
        self.assertEqual(bad.gateway_account_id, account, "not failed over")
        self.assertFalse(account.cooldown_until, "a bad number says nothing about the account")
        self.assertEqual((ok.state, ok.gateway_account_id), ("pending", account))
        self.run_queue()  # a later run does not try the bad number again
        sends = [r for r in self.twilio.received if r.method == "POST" and r.form.get("To") == "+15005550001"]
        self.assertEqual(len(sends), 1)
        self.assertEqual(self.account_a.sudo().search_count([("cooldown_until", "!=", False)]), 0)

    def test_vonage_balance_from_answer(self):
        account = self.make_account("vonage")
        sms = self.send(["+33612345678"])
        self.assertEqual(sms.state, "pending")
        self.assertEqual(self.vonage.messages[sms.provider_message_id]["to"], "33612345678")
        self.assertAlmostEqual(account.provider_balance, self.vonage.balance, places=4)
        self.assertFalse(
            [r for r in self.vonage.received if "get-balance" in r.path], "remaining-balance of the answer is used"
        )

    def test_ovh_batch_with_invalid_number(self):
        account = self.make_account("ovh")
        sms = self.send(["+33612345678", "+33600000001", "+33751234567"])
        good = sms.filtered(lambda s: s.number != "+33600000001")
        bad = sms - good
        self.assertEqual(set(good.mapped("state")), {"pending"})
        self.assertEqual(len(set(good.mapped("provider_message_id"))), 2)
        self.assertEqual((bad.state, bad.failure_type), ("error", "sms_number_format"))
        self.assertIn("Invalid receiver", bad.error_message)
        self.assertEqual(account.provider_balance, 498, "creditLeft of the last answer")

    # -- error classes ---------------------------------------------------------
    def test_account_refused_is_final_and_refunded(self):
        self.make_account("aspsms", password="wrong")
        before = self.balance(self.company_a)
        sms = self.send(["+33612345678", "+33751234567"])
        self.assertEqual(set(sms.mapped("state")), {"error"})
        self.assertEqual(set(sms.mapped("failure_type")), {"sms_acc"})
        self.assertIn("Authorization failed", sms[0].error_message)
        self.assertEqual(self.balance(self.company_a), before)
        self.assertEqual(set(sms.mapped("credit_charged")), {0})

    def test_provider_out_of_credit(self):
        self.brevo.credits = 0
        try:
            sms = self.send(["+33612345678"]) if self.make_account("brevo") else None
        finally:
            self.brevo.credits = None
        self.assertEqual((sms.state, sms.failure_type), ("error", "sms_credit"))
        self.assertIn("not_enough_credits", sms.error_message)

    def test_vonage_quota_exceeded(self):
        self.make_account("vonage")
        self.vonage.answer_next(
            EmulatorResponse(200, {"message-count": "1", "messages": [{"status": "9", "error-text": "Quota Exceeded"}]})
        )
        sms = self.send(["+33612345678"])
        self.assertEqual((sms.state, sms.failure_type), ("error", "sms_credit"))
        self.assertIn("Quota Exceeded", sms.error_message)

    # -- odd answers: transient, retried later, credit still held ------------------
    def _assert_retried(self, sms, contains):
        self.assertEqual(sms.state, "outgoing", sms.error_message)
        self.assertEqual(sms.failure_type, "sms_server")
        self.assertIn(contains, sms.error_message)
        self.assertTrue(sms.next_try_date)
        self.assertEqual(sms.attempt_count, 1)
        self.assertTrue(sms.credit_charged, "credit stays reserved for the retry")

    def test_http500(self):
        self.make_account("brevo")
        self.brevo.mode = "http500"
        self._assert_retried(self.send(["+33612345678"]), "HTTP 500")

    def _assert_asked_later(self, sms, contains):
        """The answer was lost: the SMS may have been sent. Not resent: it waits, charged, for the
        provider to be asked about it."""
        self.assertEqual((sms.state, sms.failure_type), ("outgoing", "sms_uncertain"), sms.error_message)
        self.assertIn(contains, sms.error_message)
        self.assertTrue(sms.next_try_date)
        self.assertTrue(sms.credit_charged, "credit stays reserved until the provider tells")

    def run_queue_later(self):
        with freeze_time(fields.Datetime.now() + timedelta(hours=1)):
            self.run_queue()

    def test_connection_dropped_provider_asked_before_any_resend(self):
        account = self.make_account("twilio")
        self.twilio.mode = "drop"  # the request is cut before Twilio takes it
        sms = self.send(["+33612345678"])
        self._assert_asked_later(sms, "Provider closed the connection")
        self.twilio.mode = "ok"
        self.run_queue_later()
        # Twilio was asked first (list call), had no trace of it: sent once, as a first send
        self.assertEqual(sms.state, "pending")
        self.assertEqual(len(self.twilio.messages), 1)
        self.assertEqual(sms.gateway_account_id, account)
        calls = [r.method for r in self.twilio.received if r.path.endswith("/Messages.json")]
        self.assertEqual(calls, ["POST", "GET", "POST"], "sent, asked about, sent again once")

    def test_late_answer_is_found_not_resent(self):
        self.make_account("aspsms")
        self.aspsms.mode = "timeout"  # ASPSMS takes the SMS, but answers after our timeout
        self.aspsms.hang_seconds = 1.5
        sms = self.send(["+33612345678"])
        self._assert_asked_later(sms, "1.0 s")
        time.sleep(0.7)  # ASPSMS finishes taking it
        self.aspsms.mode = "ok"
        self.run_queue_later()
        self.assertEqual(sms.state, "pending", "found at the provider: recorded as sent")
        self.assertEqual(list(self.aspsms.messages), [sms.uuid], "never sent twice")
        self.assertEqual(sms.credit_move_id.state, "done")

    def test_brevo_late_answer_is_found_by_its_tag_not_resent(self):
        self.make_account("brevo")
        self.brevo.mode = "timeout"  # Brevo takes the SMS, but answers after our timeout
        self.brevo.hang_seconds = 1.5
        sms = self.send(["+33612345678"])
        self._assert_asked_later(sms, "1.0 s")
        time.sleep(0.7)  # Brevo finishes taking it
        self.brevo.mode = "ok"
        self.run_queue_later()
        [message_id] = self.brevo.messages
        self.assertEqual((sms.state, sms.provider_message_id), ("pending", str(message_id)), "found: sent")
        self.assertEqual(self.brevo.messages[message_id]["tag"], [f"odoo-sms-{sms.uuid}"])
        sends = [r for r in self.brevo.received if r.method == "POST"]
        self.assertEqual(len(sends), 1, "never sent twice")
        self.assertEqual(sms.credit_move_id.state, "done")

    def test_lost_answer_never_handed_to_another_account(self):
        account = self.make_account("twilio")
        backup = self.make_account("aspsms", only=False, sequence=5)
        self.twilio.mode = "drop"
        sms = self.send(["+33612345678"])
        self._assert_asked_later(sms, "Provider closed the connection")
        # at the next try the account's connector cannot even be built: the SMS waits, uncertain, on its
        # account; the backup account never gets it
        with patch.object(type(account), "_get_connector", side_effect=RuntimeError("connector broken")):
            self.run_queue_later()
        self.assertEqual((sms.state, sms.failure_type, sms.gateway_account_id), ("outgoing", "sms_uncertain", account))
        self.assertFalse(self.aspsms.messages, "not sent through the backup account")
        self.assertTrue(backup.active)

    def test_unreadable_answer_without_lookup_ends_uncertain(self):
        self.make_account("ovh")
        self.ovh.answer_next(EmulatorResponse(200, "<html>maintenance</html>", "text/html"))
        sms = self.send(["+33612345678"])
        self.assertEqual((sms.state, sms.failure_type), ("error", "sms_uncertain"))
        self.assertTrue(sms.error_message.startswith("Uncertain: the provider may have sent it — not resent"))
        self.assertIn("maintenance", sms.error_message)
        self.assertEqual(sms.credit_charged, 1, "charged: the provider most likely took it")
        self.assertEqual(sms.credit_move_id.state, "done")
        self.run_queue_later()
        self.assertEqual(sms.state, "error", "never resent by itself")
        # a manager resends it explicitly: a new send, charged again
        balance = self.balance(self.company_a)
        sms.with_user(self.manager_a).action_set_outgoing()
        self.assertEqual(self.balance(self.company_a), balance - 1)
        self.run_queue_later()  # after the account's cool-down (no answer at all to its last call)
        self.assertEqual(sms.state, "pending")

    def test_rate_limited(self):
        self.make_account("twilio")
        self._assert_retried(self.send(["+15005550429"]), "Too Many Requests")


@tagged("post_install", "-at_install", "sms_gateway_providers")
class TestGatewayAccount(GatewayEmulatorCase):
    ANSWER_TESTS = (
        "test_invalid_number_alone",
        "test_invalid_number_in_batch",
        "test_no_credit",
        "test_bad_credentials",
        "test_unknown_answer",
    )

    def test_every_connector_tested_on_recipient_and_account_answers(self):
        """Each connector's tests cover, for its provider, an invalid number alone and inside a batch, no
        credit, bad credentials and an unknown answer (issue 9), and masked secrets (ProviderTestCase)."""
        from . import provider_common

        tested = {}
        for module in list(sys.modules.values()):
            if getattr(module, "__name__", "").startswith(__package__ + ".test_provider_"):
                for value in vars(module).values():
                    if isinstance(value, type) and issubclass(value, provider_common.ProviderTestCase):
                        if value.connector_class is not None:
                            tested[value.connector_class.code] = value
        for code in PROVIDERS:
            if code == "sandbox":  # no provider behind it
                continue
            with self.subTest(connector=code):
                self.assertIn(code, tested, "the connector has a ProviderTestCase")
                for name in self.ANSWER_TESTS:
                    self.assertIn(name, vars(tested[code]), f"{tested[code].__name__} defines {name}")
                self.assertTrue(hasattr(tested[code], "test_secret_masked_on_tls_error"))

    def test_provider_selection(self):
        values = dict(self.env["sms.gateway.account"]._fields["provider"].selection)
        for code in ("sandbox", "aspsms", "brevo", "clever", "contact_experience", "generic_http", "linkmobility"):
            self.assertIn(code, values)
        for code in ("mobimel", "orange", "ovh", "sfr_dmc", "twilio", "vonage"):
            self.assertIn(code, values)

    def test_form_matches_connector_facts(self):
        """For every registered connector, the account form shows the credentials the connector names, under
        its labels, required exactly when the connector requires them; any other credential it shows keeps
        the field's own label and is optional."""
        arch = self.env["sms.gateway.account"].with_user(self.manager_a).get_views([(False, "form")])
        nodes = [
            node
            for node in etree.fromstring(arch["views"]["form"]["arch"]).iter("field")
            if node.get("name") in CREDENTIAL_FIELDS
        ]
        self.assertTrue(nodes)
        for node in nodes:  # the test reads each field's own invisible / required expressions
            self.assertFalse([n for n in node.iterancestors() if n.get("invisible")], node.get("name"))
        for code, provider_class in PROVIDERS.items():
            with self.subTest(provider=code):
                shown = {}
                for node in nodes:
                    if safe_eval(node.get("invisible") or "False", {"provider": code}):
                        continue
                    self.assertNotIn(node.get("name"), shown, "one field per credential")
                    required = bool(safe_eval(node.get("required") or "False", {"provider": code}))
                    shown[node.get("name")] = (node.get("string"), required)
                labels = provider_class.credential_labels
                expected = {name: (labels[name], name in provider_class.required_credentials) for name in labels}
                self.assertEqual({name: shown[name] for name in shown if name in labels}, expected)
                others = {name: shown[name] for name in shown if name not in labels}
                self.assertEqual(others, dict.fromkeys(others, (None, False)))

    def test_required_credentials(self):
        with self.assertRaisesRegex(ValidationError, "UserKey"):
            self.make_account("aspsms", username=False)
        with self.assertRaisesRegex(ValidationError, "servicePassword"):
            self.env["sms.gateway.account"].create(
                {"name": "SFR", "provider": "sfr_dmc", "service_id": "svc", "space_id": "1"}
            )
        account = self.make_account("twilio")
        with self.assertRaisesRegex(ValidationError, "Auth Token"):
            account.password = False

    def test_generic_http_settings_checked(self):
        with self.assertRaisesRegex(ValidationError, "placeholder"):
            self.env["sms.gateway.account"].create(
                {
                    "name": "Generic",
                    "provider": "generic_http",
                    "base_url": "https://gateway.example.com/send",
                    "generic_params": '{"to": "{to}", "text": "{msg}"}',
                }
            )
        account = self.env["sms.gateway.account"].create(
            {
                "name": "Generic",
                "provider": "generic_http",
                "base_url": "https://gateway.example.com/send",
                "generic_method": "GET",
                "generic_body_format": "query",
                "generic_auth": "param",
                "generic_auth_name": "apikey",
                "api_key": "k",
                "generic_success_rule": "json:status==1",
            }
        )
        config = account._get_connector_config()
        self.assertEqual(config["generic_method"], "GET")
        self.assertEqual(config["generic_auth_name"], "apikey")
        self.assertNotIn("dlr_url", config, "no delivery reports for the generic gateway")
        with self.assertRaisesRegex(ValidationError, "JSON"):
            account.extra_config = "[1, 2"

    def test_connector_config(self):
        account = self.make_account("ovh", ovh_no_stop=False, extra_config='{"tag": "x", "password": "ignored"}')
        config = account._get_connector_config()
        self.assertEqual(config["service_id"], "sms-ab12345-1")
        self.assertIs(config["ovh_no_stop"], False)
        self.assertEqual(config["password"], "s3cret", "advanced settings never override a credential")
        self.assertEqual(config["tag"], "x")
        self.assertEqual(config["dlr_url"], account.webhook_url)
        self.assertEqual(config["timeout"], 1.0)

    def test_test_connection_refreshes_balance(self):
        account = self.make_account("twilio")
        self.twilio.balance = 42.5
        try:
            action = account.action_test_connection()
        finally:
            self.twilio.balance = None
        self.assertEqual(action["params"]["type"], "success")
        self.assertEqual((account.provider_balance, account.provider_balance_currency), (42.5, "USD"))
        self.assertIn("OK", account.last_test_message)

    def test_test_connection_failure(self):
        account = self.make_account("aspsms", password="wrong")
        action = account.action_test_connection()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertIn("Authorization failed", account.last_test_message)
        self.assertFalse(account.provider_balance_date)

    def test_test_connection_missing_credentials(self):
        account = self.make_account("ovh")
        self.env.cr.execute("UPDATE sms_gateway_account SET password = NULL WHERE id = %s", (account.id,))
        account.invalidate_recordset()
        with self.assertRaisesRegex(UserError, "SMS user password"):
            account.action_test_connection()

    def test_balance_cron(self):
        aspsms = self.make_account("aspsms")
        brevo = self.make_account("brevo", sequence=2, only=False)
        self.env["sms.gateway.account"]._cron_refresh_balances()
        self.assertEqual(aspsms.provider_balance, 1000)
        self.assertEqual(brevo.provider_balance, 99999, "Brevo's SMS plan credits")
        self.assertTrue(brevo.provider_balance_date)
        self.assertFalse(self.account_a.provider_balance_date, "the sandbox is not asked")

    def test_balance_gap_warning_and_activity(self):
        account = self.make_account("aspsms")
        ledger = self.balance(self.company_a)
        account._gateway_store_balance(ledger * 1.1)
        self.assertFalse(account.balance_gap_warning, "10% is under the 20% threshold")
        self.assertFalse(account.activity_ids)
        account._gateway_store_balance(ledger * 2)
        self.assertIn("50%", account.balance_gap_warning)
        activities = account.activity_ids
        self.assertIn(self.manager_a, activities.user_id)
        self.assertNotIn(self.user_a, activities.user_id)
        account._gateway_store_balance(ledger * 3)
        self.assertEqual(account.activity_ids, activities, "managers are alerted once")
        account._gateway_store_balance(ledger)
        self.assertFalse(account.balance_gap_alerted)
        # the sandbox is never compared
        self.account_a._gateway_store_balance(1000000)
        self.assertFalse(self.account_a.balance_gap_warning)
        # a money balance is converted with the price of one SMS
        account.provider_sms_price = 0.5
        account._gateway_store_balance(ledger * 0.5)
        self.assertFalse(account.balance_gap_warning)


@tagged("post_install", "-at_install", "sms_gateway_providers")
class TestGatewayAccountSecurity(GatewayEmulatorCase):
    SECRET_FIELDS = (
        "username",
        "password",
        "api_key",
        "service_id",
        "space_id",
        "base_url",
        "webhook_token",
        "webhook_url",
        "generic_params",
        "generic_auth_name",
        "extra_config",
    )

    def test_credentials_hidden_from_readers_and_users(self):
        account = self.make_account("aspsms", extra_config='{"x": 1}')
        for user in (self.reader_a, self.user_a):
            Account = self.env["sms.gateway.account"].with_user(user)
            fields_get = Account.fields_get()
            for name in self.SECRET_FIELDS:
                self.assertNotIn(name, fields_get, f"{name} listed to {user.login}")
            rows = Account.search_read([("id", "=", account.id)])
            self.assertEqual(len(rows), 1)
            for name in self.SECRET_FIELDS:
                self.assertNotIn(name, rows[0])
            self.assertNotIn("secret", str(rows[0]))
            self.assertNotIn("ASPSMSUSERKEY", str(rows[0]))
            for name in ("password", "username", "webhook_token"):
                with self.assertRaises(AccessError):
                    Account.browse(account.id).read([name])
        manager_view = self.env["sms.gateway.account"].with_user(self.manager_a).browse(account.id)
        self.assertEqual(manager_view.read(["username"])[0]["username"], "ASPSMSUSERKEY")

    def test_form_view_per_group(self):
        """The form loads for every group; readers get no credential field, managers get each provider's."""
        for user in (self.reader_a, self.user_a, self.manager_a):
            views = self.env["sms.gateway.account"].with_user(user).get_views([(False, "form"), (False, "list")])
            arch = views["views"]["form"]["arch"]
            if user == self.manager_a:
                for label in ("UserKey", "devCode", "serviceId", "Account SID", "API Secret", "generic_success_rule"):
                    self.assertIn(label, arch)
            else:
                for name in ("password", "api_key", "webhook_url", "generic_params"):
                    self.assertNotIn(f'name="{name}"', arch)

    def test_actions_for_managers_only(self):
        account = self.make_account("brevo")
        token = account.webhook_token
        for user in (self.reader_a, self.user_a):
            as_user = account.with_user(user)
            with self.assertRaises(AccessError):
                as_user.action_regenerate_webhook_token()
            with self.assertRaises(AccessError):
                as_user.action_test_connection()
        self.assertEqual(account.webhook_token, token)
        self.assertFalse(self.brevo.received, "no provider call for a refused test")
        account.with_user(self.manager_a).action_regenerate_webhook_token()
        self.assertNotEqual(account.webhook_token, token)

    def test_company_isolation(self):
        account = self.make_account("brevo")
        Account = self.env["sms.gateway.account"].with_user(self.user_b)
        self.assertFalse(Account.search([("id", "=", account.id)]))
        self.assertEqual(self.env["sms.gateway.account"]._get_for_company(self.company_b), self.account_b)
