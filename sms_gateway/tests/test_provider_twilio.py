import base64
from datetime import timedelta

from ..providers.base import OutgoingSms, ProviderError
from ..providers.twilio import TwilioProvider, twilio_signature
from .emulators.base import EmulatorResponse
from .emulators.twilio import TwilioEmulator
from .provider_common import ProviderTestCase, closed_port_url

SID, TOKEN = "AC0123456789abcdef0123456789abcdef", "auth-token-42"
ACCENTED = "Rappel : rendez-vous à 9h30 près de l'église, ça marche ? 🎉"


class TestTwilioProvider(ProviderTestCase):
    """Twilio's Messages API: one form per message from a number or a Messaging Service, error
    codes, the balance call, signed status callbacks and the crash-recovery lookup."""

    connector_class, emulator = TwilioProvider, TwilioEmulator(SID, TOKEN)
    config = {"username": SID, "password": TOKEN, "sender": "+15005550006"}
    success_answer = (201, '{"sid": "SM1')

    # -- success ------------------------------------------------------------
    def test_send_success_with_from(self):
        results, request = self._send_request(
            "POST", f"/2010-04-01/Accounts/{SID}/Messages.json", body=ACCENTED, unicode=True
        )
        self.assertEqual(
            request.headers["authorization"], "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
        )
        self.assertIn("application/x-www-form-urlencoded", request.headers["content-type"])
        self.assertEqual(request.form, {"To": "+33612345678", "Body": ACCENTED, "From": "+15005550006"})
        self.assertIn("%C3%A0", request.body.decode(), "accented text form-encoded as UTF-8")
        self.assertIn("%F0%9F%8E%89", request.body.decode(), "emoji form-encoded as UTF-8")
        self.assertEqual(len(results), 1)
        self.assertTrue(results[0].ok, results[0])
        self.assertEqual(results[0].ref, "ref1")
        self.assertIn(results[0].provider_id, self.emulator.messages)
        self.assertTrue(results[0].provider_id.startswith("SM"))

    def test_send_with_messaging_service_and_callback(self):
        provider = self._provider(service_id="MG1234", dlr_url="https://odoo.example.com/sms/dlr/twilio")
        results = self._send(provider=provider)
        self.assertTrue(results[0].ok)
        form = self.emulator.received[0].form
        self.assertEqual(form["MessagingServiceSid"], "MG1234")
        self.assertNotIn("From", form)
        self.assertEqual(form["StatusCallback"], "https://odoo.example.com/sms/dlr/twilio")

    def test_one_request_per_message(self):
        messages = [OutgoingSms(f"r{i}", f"+3361234567{i}", f"Message {i}") for i in range(3)]
        results = self.provider.send(messages)
        self.assertEqual(TwilioProvider.batch_size, 1)
        self.assertEqual([r.form["To"] for r in self.emulator.received], [m.number for m in messages])
        self.assertEqual([r.ref for r in results], ["r0", "r1", "r2"])
        self.assertEqual(len({r.provider_id for r in results}), 3)

    def test_missing_sender_fails_cleanly(self):
        results = self._send(provider=self._provider(sender=False))
        self._assert_failed(results, "sms_acc", "Messaging Service SID or a sender")
        self.assertEqual(self.emulator.received, [], "nothing sent without a From")

    # -- documented errors ------------------------------------------------------
    def test_wrong_credentials(self):
        results = self._send(provider=self._provider(password="wrong"))
        self._assert_failed(results, "sms_acc", "Authenticate (Twilio error 20003)")

    def test_number_errors(self):
        for number, code in (
            ("+15005550001", 21211),
            ("+15005550002", 21612),
            ("+15005550003", 21408),
            ("+15005550004", 21610),
            ("+15005550008", 21608),
            ("+15005550009", 21614),
        ):
            with self.subTest(number=number):
                self._assert_failed(self._send(number=number), "sms_number_format", f"(Twilio error {code})")

    def test_too_many_requests_is_transient(self):
        self._assert_failed(self._send(number="+15005550429"), "sms_server", "Too Many Requests (Twilio error 20429)")

    def test_plain_429_is_transient(self):
        self._assert_answer_fails(EmulatorResponse(429, "Slow down", "text/plain"), "sms_server", "HTTP 429")

    def test_unknown_error_code_is_transient_and_stripped(self):
        self.emulator.answer_next(
            EmulatorResponse(400, {"code": 21999, "message": "  Something   odd \n", "status": 400})
        )
        self._assert_failed(self._send(), "sms_server", "Something odd (Twilio error 21999)")

    # -- issue 9: a bad number, no credit, bad credentials, unknown answers ---------
    def test_invalid_number_alone(self):
        self.emulator.invalid_numbers = {"+33600000001"}
        results = self._send(number="+33600000001")
        self._assert_failed(results, "sms_number_format", "is not a valid phone number. (Twilio error 21211)")
        self.assertEqual(len(self.emulator.received), 1, "no retry")
        # the words are read before the code table: an unknown code naming the 'To' number, French words
        for body, contains in (
            ({"code": 21999, "message": "The 'To' number is blocked", "status": 400}, "blocked"),
            ({"code": 21998, "message": "Numéro invalide", "status": 400}, "Numéro invalide"),
        ):
            with self.subTest(body=body):
                self._assert_answer_fails(EmulatorResponse(400, body), "sms_number_format", contains)

    def test_invalid_number_in_batch(self):
        self.emulator.invalid_numbers = {"+33600000002"}
        numbers = ["+33600000001", "+33600000002", "+33600000003"]
        results = self.provider.send([OutgoingSms(f"r{i}", number, "Hi") for i, number in enumerate(numbers)])
        self.assertEqual([r.ref for r in results], ["r0", "r1", "r2"])
        self.assertTrue(results[0].ok and results[2].ok, results)
        self.assertNotEqual(results[0].provider_id, results[2].provider_id)
        self._assert_failed_result(results[1], "sms_number_format", "Twilio error 21211")
        taken = [form["To"] for form in self.emulator.messages.values()]
        self.assertEqual(sorted(taken), ["+33600000001", "+33600000003"], "each valid number taken once")
        self.assertEqual(len(self.emulator.received), 3)

    def test_no_credit(self):
        self.emulator.credits = 0
        [result] = self._send()
        self._assert_failed_result(result, "sms_credit", "credit")
        self.assertIn("Account is not active (Twilio error 10001)", result.error_message)
        self.assertEqual(self.emulator.messages, {})
        # the words, whatever the code and status
        for status, body, contains in (
            (400, {"code": 21999, "message": "Insufficient funds to send this message"}, "credit"),
            (402, {"code": 0, "message": "Crédit insuffisant"}, "Crédit insuffisant"),
            (401, {"code": 20005, "message": "Account not active"}, "credit"),
        ):
            with self.subTest(body=body):
                self._assert_answer_fails(EmulatorResponse(status, {**body, "status": status}), "sms_credit", contains)

    def test_bad_credentials(self):
        self._assert_failed(self._send(provider=self._provider(password="wrong")), "sms_acc", "Authenticate")
        self._assert_failed(self._send(provider=self._provider(username="AC" + "9" * 32)), "sms_acc", "20003")
        self.assertEqual(self.emulator.messages, {})
        # a sender refused is the account's settings, not the recipient, even with "destination" in the words
        body = {
            "code": 21606,
            "message": "The 'From' phone number provided is not a valid message-capable Twilio phone number for this destination.",
            "status": 400,
        }
        self._assert_answer_fails(EmulatorResponse(400, body), "sms_acc", "'From' phone number")

    def test_unknown_answer(self):
        self._assert_answer_fails(
            EmulatorResponse(201, {"account_sid": SID, "status": "queued", "to": "+33612345678"}),
            "sms_uncertain",
            "Unexpected answer",
        )
        for status, text in ((200, "KO"), (200, "ERROR"), (201, "ERROR: invalid number"), (400, "KO")):
            with self.subTest(status=status, text=text):
                self.emulator.answer_next(EmulatorResponse(status, text, "text/plain"))
                [result] = self._send()
                self.assertFalse(result.ok)
                self.assertFalse(result.provider_id)
                self.assertIn(result.failure_type, ("sms_uncertain", "sms_server"))
        # a 201 taken then failed at once: the failure is read like an error answer
        self.emulator.answer_next(
            EmulatorResponse(
                201,
                {"sid": "SM1", "status": "failed", "error_code": 21211, "error_message": "Invalid 'To' Phone Number"},
            )
        )
        [result] = self._send()
        self.assertEqual((result.ok, result.failure_type), (False, "sms_number_format"))

    # -- odd answers (the common ones come from ProviderTestCase) ----------------
    def test_redirect_is_not_followed(self):
        self._assert_answer_fails(EmulatorResponse(302, b"", headers={"Location": "/login"}), "sms_server", "HTTP 302")
        self.assertEqual(len(self.emulator.received), 1)

    def test_json_without_sid(self):
        self._assert_answer_fails(EmulatorResponse(201, {"status": "queued"}), "sms_uncertain", "Unexpected answer")

    # -- balance --------------------------------------------------------------
    def test_balance(self):
        self.emulator.balance = 12.5
        request = self._assert_balance(12.5, "GET", f"/2010-04-01/Accounts/{SID}/Balance.json")
        self.assertIn("Basic ", request.headers["authorization"])
        self.assertEqual(self.provider.test_connection(), "Connection OK. Balance: 12.5 USD")
        self._send(body="x" * 200)  # two segments
        self.assertAlmostEqual(self.provider.get_balance(), 12.5 - 2 * 0.0079, places=5)

    def test_balance_errors(self):
        self._assert_provider_error("sms_acc", self._provider(password="wrong").get_balance)
        self.emulator.answer_next(EmulatorResponse(200, {"currency": "USD"}))
        self._assert_provider_error("sms_server", self.provider.get_balance)
        with self.assertRaises(ProviderError) as caught:
            self._provider(base_url=closed_port_url()).test_connection()
        self.assertIn("connection refused", str(caught.exception))

    # -- crash recovery lookup ----------------------------------------------------
    def _sid_of(self, number, body):
        return next(sid for sid, form in self.emulator.messages.items() if (form["To"], form["Body"]) == (number, body))

    def test_lookup_found_and_not_found(self):
        for number, body in (("+33612345678", ACCENTED), ("+33612345678", "Other text"), ("+33699999999", "Hello")):
            self.assertTrue(self._send(number=number, body=body)[0].ok)
        old_sid = self._sid_of("+33699999999", "Hello")
        self.emulator.created_dates[old_sid] -= timedelta(days=5)  # outside the lookup window
        self.emulator.sent_dates[old_sid] -= timedelta(days=5)
        self.emulator.reset()
        messages = [
            OutgoingSms("sent", "+33612345678", ACCENTED),
            OutgoingSms("other-body", "+33612345678", "Never sent"),
            OutgoingSms("old", "+33699999999", "Hello"),
            OutgoingSms("nothing", "+33611111111", "Hello"),
        ]
        found = self.provider.lookup(messages)
        self.assertEqual(
            found,
            {"sent": self._sid_of("+33612345678", ACCENTED), "other-body": False, "old": False, "nothing": False},
        )
        request = self.emulator.received[0]
        self.assertEqual((request.method, request.path), ("GET", f"/2010-04-01/Accounts/{SID}/Messages.json"))
        self.assertEqual(request.query["To"], "+33612345678")
        self.assertNotIn("DateSent>", request.query, "a message not sent yet has no DateSent")
        self.assertEqual(len(self.emulator.received), 4, "one list call per message")

    def test_lookup_finds_messages_accepted_but_not_sent_yet(self):
        self.emulator.hold_queued = True  # a Twilio-side backlog: accepted, queued, no DateSent
        self.assertTrue(self._send(body="Queued at Twilio")[0].ok)
        sid = self._sid_of("+33612345678", "Queued at Twilio")
        self.emulator.reset()
        found = self.provider.lookup([OutgoingSms("r1", "+33612345678", "Queued at Twilio")])
        self.assertEqual(found, {"r1": sid})

    def test_lookup_follows_pages(self):
        for i in range(5):
            self._send(body=f"Reminder {i}")
        self.emulator.reset()
        found = self._provider(twilio_lookup_max_pages=10).lookup([OutgoingSms("r0", "+33612345678", "Reminder 0")])
        # a first page without it, then the emulator's pages of one (newest first) via next_page_uri
        self.assertEqual(found, {"r0": self._sid_of("+33612345678", "Reminder 0")})
        self.emulator.reset()
        self.emulator.answer_next(
            EmulatorResponse(
                200,
                {
                    "messages": [
                        {"sid": "SMx", "to": "+33612345678", "body": "Reminder 4", "direction": "outbound-api"}
                    ],
                    "next_page_uri": f"/2010-04-01/Accounts/{SID}/Messages.json?To=%2B33612345678&PageSize=1&Page=1",
                },
            )
        )
        found = self.provider.lookup([OutgoingSms("r1", "+33612345678", "Reminder 1")])
        self.assertEqual(found, {"r1": self._sid_of("+33612345678", "Reminder 1")})
        self.assertEqual([r.query.get("Page") for r in self.emulator.received], [None, "1", "2", "3"])
        # too many pages to tell: unknown, left out
        self.emulator.answer_next(
            EmulatorResponse(
                200, {"messages": [], "next_page_uri": f"/2010-04-01/Accounts/{SID}/Messages.json?Page=9"}
            ),
            times=2,
        )
        self.assertEqual(self._provider(twilio_lookup_max_pages=2).lookup([OutgoingSms("r9", "+33612345678", "x")]), {})

    def test_lookup_errors_raise(self):
        message = OutgoingSms("r1", "+33612345678", "Hello")
        self._assert_provider_error("sms_acc", self._provider(password="wrong").lookup, [message])
        self.emulator.mode = "http500"
        self._assert_provider_error("sms_server", self.provider.lookup, [message])
        self.emulator.mode = "ok"
        self.emulator.answer_next(EmulatorResponse(200, "not json", "text/plain"))
        with self.assertRaises(ProviderError):
            self.provider.lookup([message])
        self.emulator.answer_next(EmulatorResponse(200, {"no": "messages"}))
        with self.assertRaises(ProviderError):
            self.provider.lookup([message])
        with self.assertRaises(ProviderError) as caught:
            self._provider(base_url=closed_port_url()).lookup([message])
        self.assertIn("connection refused", str(caught.exception))
        self._assert_provider_error("sms_acc", self._provider(password="").lookup, [message])

    # -- delivery reports -----------------------------------------------------
    def test_parse_delivery_report(self):
        cases = {  # (MessageStatus, ErrorCode): (state, failure type)
            **dict.fromkeys((("queued", None), ("sent", None)), ("pending", None)),
            ("delivered", None): ("sent", None),
            ("undelivered", "30003"): ("error", "sms_not_delivered"),
            **dict.fromkeys((("failed", "30005"), ("failed", "21211")), ("error", "sms_invalid_destination")),
            ("failed", None): ("error", "sms_not_delivered"),
        }
        for (status, error_code), (state, failure_type) in cases.items():
            with self.subTest(status=status, error_code=error_code):
                payload = {"MessageSid": "SM42", "MessageStatus": status, "AccountSid": SID}
                if error_code:
                    payload["ErrorCode"] = error_code
                [report] = self.provider.parse_delivery_report(payload, {})
                self.assertEqual((report.provider_id, report.state, report.failure_type), ("SM42", state, failure_type))

    def test_parse_delivery_report_malformed(self):
        for payload in (
            {},
            {"MessageSid": "SM1"},
            {"MessageStatus": "delivered"},
            {"MessageSid": "SM1", "MessageStatus": "exploded"},
            None,
            "MessageSid=SM1",
        ):
            with self.subTest(payload=payload), self.assertRaises(ValueError):
                self.provider.parse_delivery_report(payload, {})

    # -- signature --------------------------------------------------------------
    def test_signature_documented_vector(self):
        url = "https://mycompany.com/myapp.php?foo=1&bar=2"
        params = {
            "CallSid": "CA1234567890ABCDE",
            "Caller": "+14158675309",
            "Digits": "1234",
            "From": "+14158675309",
            "To": "+18005551212",
        }
        self.assertEqual(twilio_signature("12345", url, params), "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
        provider = self._provider(password="12345")
        self.assertTrue(provider.check_signature(url, params, {"X-Twilio-Signature": "RSOYDt4T1cUTdK1PDd93/VVr8B8="}))
        self.assertTrue(provider.check_signature(url, params, {"x-twilio-signature": "RSOYDt4T1cUTdK1PDd93/VVr8B8="}))
        self.assertFalse(
            provider.check_signature(
                url, {**params, "Digits": "9999"}, {"X-Twilio-Signature": "RSOYDt4T1cUTdK1PDd93/VVr8B8="}
            )
        )
        self.assertFalse(
            provider.check_signature(url + "&x=1", params, {"X-Twilio-Signature": "RSOYDt4T1cUTdK1PDd93/VVr8B8="})
        )

    def test_signature_both_ways(self):
        url = "https://odoo.example.com/sms_gateway/dlr/twilio?account=7"
        payload = {"MessageSid": "SM42", "MessageStatus": "delivered", "AccountSid": SID, "To": "+33612345678"}
        good = twilio_signature(TOKEN, url, payload)
        self.assertTrue(self.provider.check_signature(url, payload, {"X-Twilio-Signature": good}))
        # Twilio may sign with the default port written out.
        signed_with_port = twilio_signature(TOKEN, url.replace(".com/", ".com:443/"), payload)
        self.assertTrue(self.provider.check_signature(url, payload, {"X-Twilio-Signature": signed_with_port}))
        forged = twilio_signature("another-token", url, payload)
        self.assertFalse(self.provider.check_signature(url, payload, {"X-Twilio-Signature": forged}))
        self.assertFalse(
            self.provider.check_signature(url, {**payload, "MessageStatus": "failed"}, {"X-Twilio-Signature": good})
        )
        self.assertFalse(self.provider.check_signature(url, payload, {}))
        self.assertFalse(self.provider.check_signature(url, payload, {"X-Twilio-Signature": "invalid 王"}))
        self.assertFalse(self._provider(password="").check_signature(url, payload, {"X-Twilio-Signature": good}))
