from ..providers.base import OutgoingSms, ProviderError
from ..providers.vonage import VonageProvider
from .emulators.base import EmulatorResponse
from .emulators.vonage import VonageEmulator
from .provider_common import ProviderTestCase, closed_port_url

KEY, SECRET = "abcd1234", "Secret-5678"
ACCENTED = "Bienvenue à l'accueil périscolaire — ça commence lundi 🚸"


class TestVonageProvider(ProviderTestCase):
    """Vonage's SMS API: one form per recipient, HTTP 200 even for errors with one status per
    part, the remaining balance of each answer, and the delivery receipts."""

    connector_class, emulator = VonageProvider, VonageEmulator(KEY, SECRET)
    config = {"api_key": KEY, "password": SECRET, "sender": "Commune"}
    success_answer = (200, '{"messages": [')

    # -- success ------------------------------------------------------------
    def test_send_unicode_success(self):
        results, request = self._send_request("POST", "/sms/json", body=ACCENTED, unicode=True)
        self.assertIn("application/x-www-form-urlencoded", request.headers["content-type"])
        self.assertEqual(
            request.form,
            {
                "api_key": KEY,
                "api_secret": SECRET,
                "from": "Commune",
                "to": "33612345678",
                "text": ACCENTED,
                "type": "unicode",
            },
        )
        self.assertIn("%C3%A0", request.body.decode("ascii"), "à form-encoded as UTF-8")
        self.assertIn("%F0%9F%9A%B8", request.body.decode("ascii"), "emoji form-encoded as UTF-8")
        self.assertTrue(results[0].ok, results[0])
        self.assertIn(results[0].provider_id, self.emulator.messages)
        self.assertAlmostEqual(self.provider.last_balance, 10.0 - 0.0333, places=6)

    def test_gsm_message_has_no_type(self):
        results = self._send(body="Bonjour à tous")
        self.assertNotIn("type", self.emulator.received[0].form)
        self.assertTrue(results[0].ok)

    def test_long_message_uses_first_part_id(self):
        results = self._send(body="x" * 200)
        self.assertEqual(len(self.emulator.messages), 2)
        self.assertEqual(results[0].provider_id, min(self.emulator.messages))

    def test_callback_when_configured(self):
        self._send(provider=self._provider(dlr_url="https://odoo.example.com/sms/dlr/vonage"))
        self.assertEqual(self.emulator.received[0].form["callback"], "https://odoo.example.com/sms/dlr/vonage")

    def test_missing_sender(self):
        self._assert_failed(self._send(provider=self._provider(sender="")), "sms_acc", "sender")
        self.assertEqual(self.emulator.received, [])

    # -- documented errors ------------------------------------------------------
    def test_bad_credentials(self):
        self._assert_failed(
            self._send(provider=self._provider(password="bad")), "sms_acc", "Bad Credentials (Vonage status 4)"
        )
        self._assert_failed(self._send(provider=self._provider(api_key="nokey")), "sms_acc", "Vonage status 4")
        self.assertEqual(self.emulator.messages, {})
        # the account barred, and a refused sender (the account's settings, not the recipient)
        for status, text in (
            ("8", "Partner account barred"),
            ("3", "Invalid from address"),
            ("2", "Missing from param"),
        ):
            with self.subTest(status=status):
                self._assert_answer_fails(
                    EmulatorResponse(200, {"message-count": "1", "messages": [{"status": status, "error-text": text}]}),
                    "sms_acc",
                    text,
                )

    # -- issue 9: a bad number, no credit, unknown answers ---------------------------
    def test_invalid_number_alone(self):
        self.emulator.invalid_numbers = {"33600000001"}
        self._assert_failed(
            self._send(number="+33600000001"), "sms_number_format", "Invalid to address (Vonage status 3)"
        )
        self.assertEqual(len(self.emulator.received), 1, "no retry")
        # the words first: a status the table does not know, or calls transient, naming the recipient
        for status, text in (("2", "Missing to param"), ("42", "Numéro invalide"), ("33", "Number de-activated")):
            with self.subTest(status=status):
                self._assert_answer_fails(
                    EmulatorResponse(200, {"message-count": "1", "messages": [{"status": status, "error-text": text}]}),
                    "sms_number_format",
                    text,
                )

    def test_invalid_number_in_batch(self):
        self.emulator.invalid_numbers = {"33600000002"}
        numbers = ["+33600000001", "+33600000002", "+33600000003"]
        results = self.provider.send([OutgoingSms(f"r{i}", number, "Hi") for i, number in enumerate(numbers)])
        self.assertEqual([r.ref for r in results], ["r0", "r1", "r2"])
        self.assertTrue(results[0].ok and results[2].ok, results)
        self.assertNotEqual(results[0].provider_id, results[2].provider_id)
        self._assert_failed_result(results[1], "sms_number_format", "Invalid to address")
        taken = sorted(fields["to"] for fields in self.emulator.messages.values())
        self.assertEqual(taken, ["33600000001", "33600000003"], "each valid number taken once")
        self.assertEqual(len(self.emulator.received), 3)

    def test_no_credit(self):
        self.emulator.credits = 0
        [result] = self._send()
        self._assert_failed_result(result, "sms_credit", "credit")
        self.assertIn("Quota Exceeded - rejected (Vonage status 9)", result.error_message)
        self.assertEqual(self.emulator.messages, {})
        for status, text in (("99", "Insufficient credit"), ("5", "Crédit insuffisant")):
            with self.subTest(status=status):
                self._assert_answer_fails(
                    EmulatorResponse(200, {"message-count": "1", "messages": [{"status": status, "error-text": text}]}),
                    "sms_credit",
                    text,
                )

    def test_unknown_answer(self):
        self._assert_answer_fails(
            EmulatorResponse(200, {"message-count": "1", "messages": [{"to": "33612345678", "network": "20810"}]}),
            "sms_uncertain",
            "Unexpected answer",
        )
        self._assert_answer_fails(EmulatorResponse(200, {"message-count": "1"}), "sms_uncertain", "Unexpected answer")
        for text in ("KO", "ERROR"):
            with self.subTest(text=text):
                self._assert_answer_fails(EmulatorResponse(200, text, "text/plain"), "sms_uncertain", text)

    def test_per_message_statuses(self):
        for number, failure_type, text in (
            ("15550000001", "sms_server", "(Vonage status 1)"),
            ("15550000005", "sms_server", "Internal Error (Vonage status 5)"),
            ("15550000006", "sms_number_format", "(Vonage status 6)"),
            ("15550000007", "sms_number_format", "Number barred. (Vonage status 7)"),
            ("15550000029", "sms_number_format", "(Vonage status 29)"),
            ("123", "sms_number_format", "Invalid to address (Vonage status 3)"),
        ):
            with self.subTest(number=number):
                self._assert_failed(self._send(number=number), failure_type, text)

    def test_quota_exceeded_when_balance_runs_out(self):
        self.emulator.balance = 0.07
        self.assertTrue(self._send()[0].ok)
        self.assertTrue(self._send()[0].ok)
        self._assert_failed(self._send(), "sms_credit", "Quota Exceeded - rejected (Vonage status 9)")

    def test_unknown_status_is_transient(self):
        self._assert_answer_fails(
            EmulatorResponse(200, {"messages": [{"status": "42", "error-text": " Odd "}]}),
            "sms_server",
            "Odd (Vonage status 42)",
        )

    # -- odd answers (the common ones come from ProviderTestCase) ----------------
    def test_multipart_with_a_later_part_refused_is_not_resent_whole(self):
        # part 1 left, part 2 was throttled: a retry of the whole message would send part 1 twice
        self.emulator.answer_next(
            EmulatorResponse(
                200,
                {
                    "message-count": "2",
                    "messages": [
                        {"status": "0", "message-id": "P1", "remaining-balance": "3.1"},
                        {"status": "1", "error-text": "Throttled"},
                    ],
                },
            )
        )
        self._assert_failed(self._send(body="x" * 200), "sms_uncertain", "Vonage accepted 1 of the 2 parts")

    def test_empty_messages_and_missing_id(self):
        self._assert_answer_fails(
            EmulatorResponse(200, {"message-count": "0", "messages": []}), "sms_uncertain", "Unexpected answer"
        )
        self._assert_answer_fails(
            EmulatorResponse(200, {"messages": [{"status": "0"}]}), "sms_uncertain", "Unexpected answer"
        )

    def test_http_401(self):
        self._assert_answer_fails(
            EmulatorResponse(401, {"error-code-label": "authentication failed"}), "sms_acc", "HTTP 401"
        )

    # -- balance --------------------------------------------------------------
    def test_balance(self):
        self.emulator.balance = 3.5
        request = self._assert_balance(3.5, "GET", "/account/get-balance")
        self.assertEqual(request.query, {"api_key": KEY, "api_secret": SECRET})
        self.assertIn("3.5", self.provider.test_connection())

    def test_balance_errors(self):
        with self.assertRaises(ProviderError) as caught:
            self._provider(password="bad").get_balance()
        self.assertEqual(caught.exception.failure_type, "sms_acc")
        self.assertIn("authentication failed", str(caught.exception))
        self.emulator.answer_next(EmulatorResponse(200, "<html>oops</html>", "text/html"))
        self._assert_provider_error("sms_server", self.provider.get_balance)
        with self.assertRaises(ProviderError):
            self._provider(base_url=closed_port_url()).get_balance()

    # -- delivery reports -----------------------------------------------------
    def test_parse_delivery_report(self):
        for status, err_code, state, failure_type in (
            ("delivered", "0", "sent", None),
            ("accepted", None, "pending", None),
            ("buffered", None, "pending", None),
            ("failed", "8", "error", "sms_not_delivered"),
            ("failed", "9", "error", "sms_invalid_destination"),
            ("rejected", "6", "error", "sms_rejected"),
            ("expired", None, "error", "sms_expired"),
        ):
            with self.subTest(status=status, err_code=err_code):
                payload = {"msisdn": "33612345678", "to": "Commune", "messageId": "0A0000001", "status": status}
                if err_code:
                    payload["err-code"] = err_code
                [report] = self.provider.parse_delivery_report(payload, {})
                self.assertEqual(
                    (report.provider_id, report.state, report.failure_type), ("0A0000001", state, failure_type)
                )

    def test_parse_delivery_report_malformed(self):
        for payload in ({}, {"messageId": "1"}, {"status": "delivered"}, {"messageId": "1", "status": "lost"}, None):
            with self.subTest(payload=payload), self.assertRaises(ValueError):
                self.provider.parse_delivery_report(payload, {})
