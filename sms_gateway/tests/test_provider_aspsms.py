from ..providers.aspsms import AspsmsProvider
from ..providers.base import OutgoingSms, ProviderError
from .emulators.aspsms import AspsmsEmulator
from .emulators.base import EmulatorResponse
from .provider_common import ProviderTestCase

USERKEY, PASSWORD = "ASPSMSUSERKEY", "secret"
ACCENTED = "Leçon de ski à 9h, rendez-vous près du télésiège ☃🎿"


class TestAspsmsProvider(ProviderTestCase):
    """ASPSMS's JSON API: one call per text for up to 1000 recipients, our reference as the
    TransactionReferenceNumber, the balance call and the pulled delivery notifications."""

    connector_class, emulator = AspsmsProvider, AspsmsEmulator(USERKEY, PASSWORD)
    config = {"username": USERKEY, "password": PASSWORD, "sender": "SkiSchool"}
    numbers = "+41781234{:03d}"
    success_answer = (200, "{StatusCode: 1")

    def odd_answer_messages(self):
        return self._messages(2)

    # -- success ------------------------------------------------------------
    def test_send_batch_success(self):
        results = self.provider.send(self._messages(3, ACCENTED, unicode=True))
        self.assertEqual(len(self.emulator.received), 1, "one call for the batch")
        request = self.emulator.received[0]
        self.assertEqual((request.method, request.path), ("POST", "/SendTextSMS"))
        self.assertIn("application/json", request.headers["content-type"])
        self.assertEqual(
            set(request.json), {"UserName", "Password", "Originator", "Recipients", "MessageText", "ForceGSM7bit"}
        )
        self.assertEqual(request.json["UserName"], USERKEY)
        self.assertEqual(request.json["Password"], PASSWORD)
        self.assertEqual(request.json["Originator"], "SkiSchool")
        self.assertEqual(request.json["Recipients"], ["+41781234000:ref0", "+41781234001:ref1", "+41781234002:ref2"])
        self.assertEqual(request.json["MessageText"], ACCENTED)
        self.assertIn(ACCENTED.encode("utf-8"), request.body, "text sent as UTF-8")
        self.assertIs(request.json["ForceGSM7bit"], False, "unicode message must not be forced to GSM-7")
        self.assertEqual({r.ref: r.provider_id for r in results}, {"ref0": "ref0", "ref1": "ref1", "ref2": "ref2"})
        self.assertTrue(all(r.ok for r in results))
        self.assertEqual(self.emulator.messages["ref1"]["number"], "+41781234001")

    def test_send_gsm7_flag_and_grouping(self):
        messages = self._messages(2, "Plain text") + self._messages(1, "Ünïcode ✓", unicode=True, prefix="u")
        results = self.provider.send(messages)
        self.assertEqual(len(results), 3)
        self.assertTrue(all(r.ok for r in results))
        self.assertEqual(len(self.emulator.received), 2, "one call per distinct text")
        flags = {
            r.json["MessageText"]: (r.json["ForceGSM7bit"], len(r.json["Recipients"])) for r in self.emulator.received
        }
        self.assertEqual(flags, {"Plain text": (True, 2), "Ünïcode ✓": (False, 1)})

    def test_send_full_batch_in_one_call(self):
        self.assertEqual(AspsmsProvider.batch_size, 1000)
        results = self.provider.send(self._messages(1000, number="+4178{:07d}"))
        self.assertEqual(len(self.emulator.received), 1)
        self.assertEqual(len(self.emulator.received[0].json["Recipients"]), 1000)
        self.assertEqual(len([r for r in results if r.ok]), 1000)
        self.assertEqual(len({r.provider_id for r in results}), 1000)

    def test_send_without_sender(self):
        results = self._provider(sender="").send(self._messages())
        self.assertTrue(results[0].ok)
        self.assertNotIn("Originator", self.emulator.received[0].json)

    def test_push_urls_when_configured(self):
        provider = self._provider(dlr_url="https://odoo.example.com/sms_gateway/dlr/TOKEN")
        self.assertTrue(provider.send(self._messages())[0].ok)
        sent = self.emulator.received[0].json
        self.assertIn("status=delivered", sent["URLDeliveryNotification"])
        self.assertIn("status=not_delivered", sent["URLNonDeliveryNotification"])
        self.assertIn("status=buffered", sent["URLBufferedMessageNotification"])
        self.assertIn("ref=<TransactionReferenceNumber>", sent["URLDeliveryNotification"])
        self.assertTrue(sent["URLDeliveryNotification"].startswith("https://odoo.example.com/sms_gateway/dlr/TOKEN?"))

    # -- documented errors ----------------------------------------------------
    def test_auth_failure(self):
        results = self._provider(password="wrong").send(self._messages(2))
        self._assert_all_failed(results, "sms_acc", "Authorization failed.")
        self.assertEqual(self.emulator.messages, {})

    def test_not_enough_credits(self):
        self.emulator.credits = 2
        results = self.provider.send(self._messages(3))
        self._assert_all_failed(results, "sms_credit", "Not enough credits")
        self.assertEqual(self.emulator.credits, 2, "nothing charged")
        results = self.provider.send(self._messages(2))
        self.assertTrue(all(r.ok for r in results))
        self.assertEqual(self.emulator.credits, 0)
        self._assert_all_failed(self.provider.send(self._messages(1)), "sms_credit", "StatusCode 5")

    def test_originator_errors(self):
        results = self._provider(sender="SkiSchoolVerbier").send(self._messages())
        self._assert_all_failed(results, "sms_acc", "Originator too long")
        self.emulator.authorised_originators = {"Other"}
        self._assert_all_failed(self.provider.send(self._messages()), "sms_acc", "Originator not authorised")

    def test_unknown_status_code_is_transient(self):
        self.emulator.answer_next(EmulatorResponse(200, {"StatusCode": "42", "StatusInfo": "  Strange thing  "}))
        self._assert_all_failed(self.provider.send(self._messages()), "sms_server", "Strange thing (StatusCode 42)")

    def test_provider_words_are_stripped(self):
        self.emulator.answer_next(EmulatorResponse(200, {"StatusCode": 3, "StatusInfo": "Authorization failed.   "}))
        results = self.provider.send(self._messages())
        self.assertEqual(results[0].error_message, "Authorization failed. (StatusCode 3)")
        self.assertEqual(results[0].failure_type, "sms_acc")

    # -- issue 9: bad numbers, credit, credentials, unknown answers ---------------
    def test_invalid_number_alone(self):
        self._assert_failed(self._send("+41770000666"), "sms_number_format", "Invalid recipient: +41770000666")
        self.assertEqual(len(self.emulator.received), 1, "a refused number is never retried")
        self.assertEqual(self.emulator.taken_numbers, [])
        for answer, words in (
            (
                EmulatorResponse(
                    400,
                    {"Message": "The request is invalid.", "ModelState": {"Recipients[0]": ["Invalid phone number."]}},
                ),
                "Recipients[0]: Invalid phone number.",
            ),
            (EmulatorResponse(200, {"StatusCode": "0", "StatusInfo": "Numéro de destinataire invalide"}), "Numéro"),
            (EmulatorResponse(200, {"StatusCode": "5", "StatusInfo": "Ungültiger Empfänger"}), "Empfänger"),
        ):
            with self.subTest(answer=answer):
                self.emulator.reset()
                self.emulator.answer_next(answer)
                self._assert_failed(self._send(), "sms_number_format", words)
                self.assertEqual(len(self.emulator.received), 1)

    def test_invalid_number_in_batch(self):
        messages = self._messages(3)
        messages[1].number = "+41770000666"
        results = self.provider.send(messages)
        by_ref = {r.ref: r for r in results}
        self.assertTrue(by_ref["ref0"].ok and by_ref["ref2"].ok)
        self.assertEqual((by_ref["ref0"].provider_id, by_ref["ref2"].provider_id), ("ref0", "ref2"))
        self._assert_failed_result(by_ref["ref1"], "sms_number_format", "Invalid recipient: +41770000666")
        self.assertEqual(
            sorted(self.emulator.taken_numbers), ["+41781234000", "+41781234002"], "each valid number once"
        )
        self.assertEqual(
            [r.json["Recipients"] for r in self.emulator.received],
            [
                ["+41781234000:ref0", "+41770000666:ref1", "+41781234002:ref2"],
                ["+41781234000:ref0", "+41781234002:ref2"],
            ],
            "the refused call, then the valid recipients again in one call",
        )
        # a refusal naming no recipient: one call per recipient finds it
        self.emulator.reset()
        self.emulator.reset_state()
        self.emulator.answer_next(EmulatorResponse(200, {"StatusCode": "0", "StatusInfo": "Invalid recipient(s)"}))
        results = self.provider.send(messages)
        self.assertEqual(sorted(r.ref for r in results if r.ok), ["ref0", "ref2"])
        self.assertEqual(sorted(self.emulator.taken_numbers), ["+41781234000", "+41781234002"])
        self.assertEqual(len(self.emulator.received), 4)

    def test_no_credit(self):
        self.emulator.credits = 0
        self._assert_failed(self._send(), "sms_credit", "credit")
        self.assertEqual(self.emulator.taken_numbers, [])
        for info in ("Crédit insuffisant", "Nicht genügend Guthaben", "Not enough credits for this recipient"):
            with self.subTest(info=info):
                self._assert_answer_fails(
                    EmulatorResponse(200, {"StatusCode": "0", "StatusInfo": info}), "sms_credit", info
                )

    def test_bad_credentials(self):
        self._assert_failed(self._send(provider=self._provider(password="wrong")), "sms_acc", "Authorization failed.")
        self.assertEqual(self.emulator.taken_numbers, [])
        self._assert_answer_fails(
            EmulatorResponse(200, {"StatusCode": "0", "StatusInfo": "Account suspended"}), "sms_acc", "suspended"
        )

    def test_unknown_answer(self):
        for body in (
            {"StatusCode": "0", "StatusInfo": "OK"},  # OK in words only: it may have been sent
            {"StatusInfo": "OK"},
            {"Status": "queued"},
        ):
            with self.subTest(body=body):
                self._assert_answer_fails(EmulatorResponse(200, body), "sms_uncertain", "Unexpected answer")
        for body in ("KO", "ERROR"):
            with self.subTest(body=body):
                self.emulator.answer_next(EmulatorResponse(200, body, "text/plain"))
                [result] = self._send()
                self.assertFalse(result.ok)
                self.assertFalse(result.provider_id)

    # -- odd answers (the common ones come from ProviderTestCase) ----------------
    def test_invalid_url_is_a_failure(self):
        results = self._provider(base_url="http://127.0.0.1:notaport").send(self._messages())
        self._assert_all_failed(results, "sms_server", "Provider")

    def test_unexpected_status(self):
        self.emulator.answer_next(EmulatorResponse(302, b"", headers={"Location": "/login"}))
        self._assert_all_failed(self.provider.send(self._messages()), "sms_server", "HTTP 302")

    def test_json_without_status_code(self):
        self.emulator.answer_next(EmulatorResponse(200, {"ok": True}))
        self._assert_all_failed(self.provider.send(self._messages()), "sms_uncertain", "Unexpected answer")

    # -- balance --------------------------------------------------------------
    def test_balance(self):
        self.emulator.credits = 42
        self.assertEqual(self.provider.get_balance(), 42.0)
        request = self.emulator.received[-1]
        self.assertEqual(request.path, "/CheckCredits")
        self.assertEqual(request.json, {"UserName": USERKEY, "Password": PASSWORD})
        self.assertIn("42", self.provider.test_connection())

    def test_balance_errors(self):
        self._assert_provider_error("sms_acc", self._provider(username="nobody").get_balance)
        self.emulator.mode = "http500"
        self._assert_provider_error("sms_server", self.provider.test_connection)
        self.emulator.mode = "ok"
        self.emulator.answer_next(EmulatorResponse(200, {"StatusCode": "1", "StatusInfo": "OK", "Credits": "n/a"}))
        with self.assertRaises(ProviderError):
            self.provider.get_balance()

    # -- delivery reports -----------------------------------------------------
    def test_fetch_delivery_reports(self):
        messages = [
            OutgoingSms("ok1", "+41781111111", "Hi"),
            OutgoingSms("ko1", "+41780000002", "Hi"),
            OutgoingSms("rj1", "+41780000009", "Hi"),
        ]
        self.assertTrue(all(r.ok for r in self.provider.send(messages)))
        self.emulator.reset()
        reports = {r.provider_id: r for r in self.provider.fetch_delivery_reports(["ok1", "ko1", "rj1", "unknown"])}
        request = self.emulator.received[0]
        self.assertEqual(request.path, "/InquireDeliveryNotifications")
        self.assertEqual(request.json["TransactionReferenceNumbers"], "ok1;ko1;rj1;unknown")
        self.assertEqual(set(reports), {"ok1", "ko1", "rj1"})
        self.assertEqual((reports["ok1"].state, reports["ok1"].failure_type), ("sent", None))
        self.assertEqual((reports["ko1"].state, reports["ko1"].failure_type), ("error", "sms_not_delivered"))
        self.assertIn("Absent subscriber", reports["ko1"].error_message)
        self.assertEqual((reports["rj1"].state, reports["rj1"].failure_type), ("error", "sms_rejected"))

    def test_fetch_delivery_reports_chunks_and_errors(self):
        self.provider.send(self._messages(5))
        self.emulator.reset()
        self.provider.inquire_chunk_size = 2
        reports = self.provider.fetch_delivery_reports([f"ref{i}" for i in range(5)])
        self.assertEqual(len(self.emulator.received), 3)
        self.assertEqual([r.state for r in reports], ["sent"] * 5)
        self._assert_provider_error("sms_acc", self._provider(password="wrong").fetch_delivery_reports, ["ref0"])

    # -- crash recovery lookup ----------------------------------------------------
    def test_lookup_found_and_not_found(self):
        sent = [OutgoingSms("got1", "+41781111111", "Hi"), OutgoingSms("got2", "+41780000009", "Hi")]
        self.assertTrue(all(r.ok for r in self.provider.send(sent)))
        self._provider(password="wrong").send([OutgoingSms("refused", "+41781111112", "Hi")])
        self.emulator.reset()
        self.provider.inquire_chunk_size = 2
        found = self.provider.lookup(
            [*sent, OutgoingSms("refused", "+41781111112", "Hi"), OutgoingSms("lost", "+4178", "Hi")]
        )
        self.assertEqual(found, {"got1": "got1", "got2": "got2", "refused": False, "lost": False})
        self.assertEqual(
            [(r.path, r.json["TransactionReferenceNumbers"]) for r in self.emulator.received],
            [("/InquireDeliveryNotifications", "got1;got2"), ("/InquireDeliveryNotifications", "refused;lost")],
        )
        self.assertEqual(self.provider.lookup([]), {})

    def test_lookup_errors_raise(self):
        message = OutgoingSms("got1", "+41781111111", "Hi")
        self.provider.send([message])
        self._assert_provider_error("sms_acc", self._provider(password="wrong").lookup, [message])
        self.emulator.mode = "http500"
        self._assert_provider_error("sms_server", self.provider.lookup, [message])
        self.emulator.mode = "ok"
        self.emulator.answer_next(EmulatorResponse(200, {"StatusCode": "1", "DeliveryNotifications": "none"}))
        with self.assertRaises(ProviderError):
            self.provider.lookup([message])
        self.emulator.answer_next(EmulatorResponse(200, "<html>maintenance</html>", "text/html"))
        with self.assertRaises(ProviderError):
            self.provider.lookup([message])

    def test_pull_status_mapping(self):
        cases = {
            ("0", ""): ("sent", None),
            ("1", ""): ("pending", None),
            ("2", "107"): ("error", "sms_not_delivered"),
            ("-1", ""): ("pending", None),
            ("-1", "212"): ("error", "sms_rejected"),
        }
        for (status, reason), expected in cases.items():
            notification = {"TransactionReferenceNumber": "r1", "DeliveryStatus": status, "Reasoncode": reason}
            report = AspsmsProvider._notification_report(notification)
            self.assertEqual((report.state, report.failure_type), expected, (status, reason))

    def test_parse_push_report(self):
        cases = {
            "delivered": ("sent", None),
            "buffered": ("pending", None),
            "not_delivered": ("error", "sms_not_delivered"),
        }
        for status, expected in cases.items():
            payload = {"status": status, "ref": "abc123", "rcpnt": "+41781234567", "scts": "20261123100000"}
            first = self.provider.parse_delivery_report(payload)
            again = self.provider.parse_delivery_report(dict(payload))
            self.assertEqual(first, again, "idempotent")
            self.assertEqual(len(first), 1)
            self.assertEqual((first[0].provider_id, first[0].state, first[0].failure_type), ("abc123", *expected))
            self.assertEqual(first[0].extra["rcpnt"], "+41781234567")

    def test_parse_push_report_malformed(self):
        for payload in (
            {},
            {"status": "delivered"},
            {"ref": "abc"},
            {"status": "exploded", "ref": "abc"},
            {"status": "delivered", "ref": "<TransactionReferenceNumber>"},
            "status=delivered",
            None,
        ):
            with self.assertRaises(ValueError, msg=repr(payload)):
                self.provider.parse_delivery_report(payload)
