import time

from ..providers.base import OutgoingSms, ProviderError
from ..providers.brevo import BrevoProvider
from .emulators.base import EmulatorResponse
from .emulators.brevo import INVALID_NUMBER, BrevoEmulator
from .provider_common import ProviderTestCase, closed_port_url

API_KEY = "xkeysib-0123456789abcdef"
ACCENTED = "Votre rendez-vous : mardi à 9h30 — crêpes offertes 🥞 ✨"


class TestBrevoProvider(ProviderTestCase):
    """Brevo's transactional SMS: one JSON call per recipient with the api-key header, its error
    codes, the account's SMS plan as balance and the webUrl delivery events."""

    connector_class, emulator = BrevoProvider, BrevoEmulator(API_KEY)
    config = {"api_key": API_KEY, "sender": "Mairie"}
    success_answer = (201, '{"messageId": ')

    # -- success ------------------------------------------------------------
    def test_send_success(self):
        [result], request = self._send_request("POST", "/v3/transactionalSMS/send", body=ACCENTED, unicode=True)
        self.assertTrue(result.ok)
        self.assertEqual(request.headers["api-key"], API_KEY)
        self.assertIn("application/json", request.headers["content-type"])
        self.assertEqual(
            request.json,
            {
                "sender": "Mairie",
                "recipient": "33612345678",
                "content": ACCENTED,
                "type": "transactional",
                "unicodeEnabled": True,
                "tag": ["odoo-sms-ref1"],  # our reference, to find the message again (lookup)
            },
        )
        self.assertIn(ACCENTED.encode("utf-8"), request.body)
        self.assertIn(int(result.provider_id), self.emulator.messages)

    def test_send_gsm_and_options(self):
        provider = self._provider(
            dlr_url="https://odoo.example.com/sms_gateway/dlr/T", tag="odoo", sms_type="marketing"
        )
        first = self._send_one(provider, ref="a")
        second = self._send_one(provider, ref="b")
        self.assertTrue(first.ok and second.ok)
        self.assertNotEqual(first.provider_id, second.provider_id)
        sent = self.emulator.received[0].json
        self.assertIs(sent["unicodeEnabled"], False)
        self.assertEqual(sent["webUrl"], "https://odoo.example.com/sms_gateway/dlr/T")
        self.assertEqual(sent["tag"], ["odoo", "odoo-sms-a"], "the account's tag, and ours")
        self.assertEqual(sent["type"], "marketing")

    def test_one_recipient_per_call(self):
        self.assertEqual(BrevoProvider.batch_size, 1)
        messages = [OutgoingSms(f"r{i}", f"+3361234567{i}", "Hi") for i in range(3)]
        results = self.provider.send(messages)
        self.assertEqual(len(self.emulator.received), 3)
        self.assertEqual([r.ref for r in results], ["r0", "r1", "r2"])
        self.assertEqual([m.json["recipient"] for m in self.emulator.received], [f"3361234567{i}" for i in range(3)])

    def test_missing_sender_is_reported(self):
        result = self._send_one(self._provider(sender=""))
        self._assert_failed_result(result, "sms_server", "sender is missing (missing_parameter)")
        self.assertNotIn("sender", self.emulator.received[0].json)

    # -- documented errors ----------------------------------------------------
    def test_unauthorized(self):
        self._assert_failed_result(
            self._send_one(self._provider(api_key="wrong")), "sms_acc", "Key not found (unauthorized)"
        )

    def test_permission_denied_and_under_validation(self):
        self.emulator.restricted_keys = {"restricted"}
        self._assert_failed_result(self._send_one(self._provider(api_key="restricted")), "sms_acc", "permission_denied")
        self.emulator.under_validation = True
        self._assert_failed_result(self._send_one(), "sms_acc", "account_under_validation")

    def test_not_enough_credits(self):
        self._assert_credit_runs_out("Not enough credits (not_enough_credits)")
        self.assertEqual(len(self.emulator.messages), 1)

    def test_invalid_recipient(self):
        self._assert_failed_result(self._send_one(number="+33 6 12"), "sms_number_format", "Invalid recipient")

    def test_invalid_sender(self):
        self._assert_failed_result(
            self._send_one(self._provider(sender="Mairie de Villeneuve")), "sms_server", "sender"
        )

    def test_rate_limited(self):
        self.emulator.answer_next(
            EmulatorResponse(
                429,
                {"code": "too_many_requests", "message": "Too many requests "},
                headers={"x-sib-ratelimit-reset": "1"},
            )
        )
        self._assert_failed_result(self._send_one(), "sms_server", "rate limit reached (HTTP 429): Too many requests")

    def test_unknown_error_code_and_payment_status(self):
        self.emulator.answer_next(EmulatorResponse(400, {"code": "bad_request", "message": "  Oops  "}))
        result = self._send_one()
        self.assertEqual((result.failure_type, result.error_message), ("sms_server", "Oops (bad_request)"))
        self._assert_answer_fails(
            EmulatorResponse(402, {"message": "Payment required"}), "sms_credit", "Payment required"
        )

    # -- bad numbers, credit, credentials, unknown answers (issue 9) ------------
    def test_invalid_number_alone(self):
        result = self._send_one(number=INVALID_NUMBER)
        self._assert_failed_result(result, "sms_number_format", "Invalid recipient mobile number (invalid_parameter)")
        self.assertEqual(len(self.emulator.received), 1, "one request: never retried")
        self.assertEqual(self.emulator.messages, {})
        # the words name the recipient, whatever the code and the language: the number is refused, not retried
        self._assert_answer_fails(
            EmulatorResponse(400, {"code": "bad_request", "message": "Numéro de destinataire invalide"}),
            "sms_number_format",
            "Numéro de destinataire invalide (bad_request)",
        )
        # a parameter that is not the recipient stays a refusal of the request
        self._assert_answer_fails(
            EmulatorResponse(400, {"code": "invalid_parameter", "message": "Invalid sender number"}),
            "sms_server",
            "Invalid sender number",
        )

    def test_invalid_number_in_batch(self):
        numbers = ["+33612345670", INVALID_NUMBER, "+33612345672"]
        by_ref = self._send_with_invalid_middle(numbers, "Invalid recipient", prefix="r")
        taken = sorted(m["recipient"] for m in self.emulator.messages.values())
        self.assertEqual(taken, ["33612345670", "33612345672"], "each valid number taken exactly once")
        self.assertEqual(
            {str(k) for k, m in self.emulator.messages.items()}, {by_ref["r0"].provider_id, by_ref["r2"].provider_id}
        )

    def test_no_credit(self):
        self.emulator.credits = 0
        result = self._send_one()
        self._assert_failed_result(result, "sms_credit", "Not enough credits (not_enough_credits)")
        self.assertIn("credit", result.error_message.lower())
        self.assertEqual(self.emulator.messages, {})
        # the words say "credit" under a generic code and status (English or French)
        self._assert_answer_fails(
            EmulatorResponse(400, {"code": "bad_request", "message": "Crédit SMS insuffisant"}),
            "sms_credit",
            "Crédit SMS insuffisant",
        )
        self._assert_answer_fails(
            EmulatorResponse(400, {"code": "not_enough_credits", "message": "Not enough credits"}),
            "sms_credit",
            "credits",
        )
        self.emulator.answer_next(EmulatorResponse(402, {"message": "Payment required"}))
        result = self._send_one()
        self._assert_failed_result(result, "sms_credit", "Payment required")
        self._assert_says_credit(result.error_message)

    def test_bad_credentials(self):
        result = self._send_one(self._provider(api_key="xkeysib-wrong"))
        self._assert_failed_result(result, "sms_acc", "Key not found (unauthorized)")
        self.assertEqual(len(self.emulator.received), 1)
        self.emulator.under_validation = True
        self._assert_failed_result(
            self._send_one(), "sms_acc", "Your account is under validation (account_under_validation)"
        )
        self._assert_answer_fails(
            EmulatorResponse(400, {"code": "bad_request", "message": "API key is invalid"}), "sms_acc", "API key"
        )

    def test_unknown_answer(self):
        self._assert_answer_fails(
            EmulatorResponse(201, {"reference": "ab1cde2fgh", "smsCount": 1}), "sms_uncertain", "Unexpected answer"
        )
        for body in ({"messageId": "KO"}, {"messageId": "ERROR"}, {"messageId": {"error": 1}}, {"messageId": True}):
            self._assert_answer_fails(EmulatorResponse(201, body), "sms_uncertain", "Unexpected answer")
        for text in ("KO", "ERROR"):
            self._assert_answer_fails(EmulatorResponse(201, text), "sms_uncertain", text)
        self.emulator.answer_next(EmulatorResponse(400, {"code": "weird_code", "message": "Something odd"}))
        self._assert_failed_result(self._send_one(), "sms_server", "Something odd (weird_code)")
        self.assertEqual(self.emulator.messages, {})

    # -- odd answers (the common ones come from ProviderTestCase) ----------------
    # -- lookup: a send whose answer was lost ------------------------------------
    def _send_lost(self, ref="lost", number="+33612345678"):
        """A send Brevo takes but answers after our timeout: uncertain, then taken by the emulator."""
        self.emulator.mode = "timeout"
        result = self._send_one(self._provider(timeout=self.odd_timeout), ref=ref, number=number)
        self.assertEqual(result.failure_type, "sms_uncertain")
        deadline = time.monotonic() + 5
        while not self.emulator.messages and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(len(self.emulator.messages), 1, "Brevo took it")
        self.emulator.mode = "ok"
        return OutgoingSms(ref, number, "Hello")

    def test_lookup_finds_a_message_whose_answer_was_lost(self):
        self.assertTrue(BrevoProvider.has_lookup)
        message = self._send_lost()
        [message_id] = self.emulator.messages
        self.emulator.reset()
        self.assertEqual(self.provider.lookup([message]), {"lost": str(message_id)})
        [request] = self.emulator.received
        self.assertEqual((request.method, request.path), ("GET", "/v3/transactionalSMS/statistics/events"))
        self.assertEqual(request.query["phoneNumber"], "33612345678")
        self.assertEqual(request.query["tags"], "odoo-sms-lost")
        self.assertEqual(request.headers["api-key"], API_KEY)

    def test_lookup_never_says_not_taken(self):
        # no event yet is no proof: unknown (left out), never "not received" (False, which would resend it)
        message = self._send_lost()
        self.emulator.events_lag = True
        self.assertEqual(self.provider.lookup([message]), {})
        # another SMS to the same number is not this one
        self.emulator.events_lag = False
        other = OutgoingSms("other", "+33612345678", "Hello")
        self.assertEqual(self.provider.lookup([other, message]), {"lost": str(next(iter(self.emulator.messages)))})

    def test_lookup_errors_raise(self):
        message = OutgoingSms("r1", "+33612345678", "Hello")
        error = self._assert_provider_error("sms_acc", self._provider(api_key="wrong").lookup, [message])
        self.assertIn("Key not found", str(error))
        self.emulator.answer_next(EmulatorResponse(200, {"events": "soon"}))
        self._assert_provider_error("sms_server", self.provider.lookup, [message])
        self.emulator.mode = "http500"
        self._assert_provider_error("sms_server", self.provider.lookup, [message])

    def test_success_without_message_id(self):
        self._assert_answer_fails(EmulatorResponse(201, {"status": "ok"}), "sms_uncertain", "Unexpected answer")

    def test_html_error_page(self):
        self.emulator.answer_next(
            EmulatorResponse(403, "<html><body><h1>Forbidden by WAF</h1></body></html>", "text/html")
        )
        result = self._send_one()
        self._assert_failed_result(result, "sms_server", "Forbidden by WAF")
        self.assertNotIn("<h1>", result.error_message)

    def test_unexpected_status(self):
        self._assert_answer_fails(EmulatorResponse(204, b""), "sms_server", "HTTP 204")
        self._assert_answer_fails(EmulatorResponse(503, b""), "sms_server", "Provider answered HTTP 503")

    # -- balance --------------------------------------------------------------
    def test_balance(self):
        self.emulator.credits = 123.5
        request = self._assert_balance(123.5, "GET", "/v3/account")
        self.assertEqual(request.headers["api-key"], API_KEY)
        self.assertIn("123.5", self.provider.test_connection())

    def test_balance_without_sms_plan(self):
        self.emulator.answer_next(EmulatorResponse(200, {"plan": [{"type": "free", "credits": 300}]}))
        self.assertEqual(self.provider.get_balance(), 0.0)

    def test_balance_errors(self):
        self._assert_provider_error("sms_acc", self._provider(api_key="wrong").get_balance)
        self.emulator.answer_next(EmulatorResponse(200, "<html>login</html>", "text/html"))
        self._assert_provider_error("sms_server", self.provider.get_balance)
        with self.assertRaises(ProviderError) as capture:
            self._provider(base_url=closed_port_url()).test_connection()
        self.assertIn("connection refused", str(capture.exception))

    # -- delivery reports -----------------------------------------------------
    def test_parse_delivery_report(self):
        cases = {
            "delivered": ("sent", None),
            **dict.fromkeys(("sent", "accepted"), ("pending", None)),
            "soft_bounce": ("error", "sms_not_delivered"),
            **dict.fromkeys(("hard_bounce", "Hard bounce"), ("error", "sms_invalid_destination")),
            "rejected": ("error", "sms_rejected"),
            "blacklisted": ("error", "sms_not_allowed"),
        }
        for status, expected in cases.items():
            payload = {
                "id": 4242,
                "to": "33612345678",
                "sms_count": 1,
                "credits_used": 1.0,
                "messageId": 1000001,
                "remaining_credit": 41.0,
                "msg_status": status,
                "date": "2026-11-23 10:00:00",
                "type": "transactional",
                "reference": {"1": "ab1cde2fgh"},
            }
            reports = self.provider.parse_delivery_report(payload)
            self.assertEqual(reports, self.provider.parse_delivery_report(dict(payload)), "idempotent")
            self.assertEqual(len(reports), 1)
            report = reports[0]
            self.assertEqual((report.provider_id, report.state, report.failure_type), ("1000001", *expected), status)
            self.assertEqual(report.extra["to"], "33612345678")

    def test_parse_delivery_report_ignored_and_malformed(self):
        self.assertEqual(self.provider.parse_delivery_report({"messageId": 1, "msg_status": "replied"}), [])
        for payload in (
            {},
            {"messageId": 1},
            {"msg_status": "delivered"},
            {"messageId": 1, "msg_status": "teleported"},
            ["delivered"],
            None,
        ):
            with self.assertRaises(ValueError, msg=repr(payload)):
                self.provider.parse_delivery_report(payload)

    def test_send_then_report_matches_provider_id(self):
        result = self._send_one()
        report = self.provider.parse_delivery_report({"messageId": int(result.provider_id), "msg_status": "delivered"})
        self.assertEqual(report[0].provider_id, result.provider_id)
