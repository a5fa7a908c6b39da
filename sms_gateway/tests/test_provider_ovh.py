from ..providers.base import OutgoingSms
from ..providers.dispatch import send_all
from ..providers.ovh import OvhProvider
from .emulators.base import EmulatorResponse
from .emulators.ovh import OvhEmulator
from .provider_common import ProviderTestCase, closed_port_url

ACCOUNT, LOGIN, PASSWORD = "sms-ab12345-1", "odoo", "s3cret"
ACCENTED = "Votre RDV à la mairie : jeudi 9h, n'oubliez pas l'attestation œuvre ✅"


class TestOvhProvider(ProviderTestCase):
    """OVH's http2sms: one GET per text for several numbers, JSON or text answers, the credit left
    in every answer, a refused number retried alone, and the delivery callbacks."""

    connector_class, emulator = OvhProvider, OvhEmulator(ACCOUNT, LOGIN, PASSWORD)
    config = {"service_id": ACCOUNT, "username": LOGIN, "password": PASSWORD, "sender": "MAIRIE"}
    success_answer = (200, '{"status":100,"SmsIds":[')

    def odd_answer_messages(self):
        return self._messages(2)

    # -- success ------------------------------------------------------------
    def test_send_batch_success(self):
        self.emulator.credits = 100
        results = self.provider.send(self._messages(3, ACCENTED, unicode=True))
        self.assertEqual(len(self.emulator.received), 1, "one call for the batch")
        request = self.emulator.received[0]
        self.assertEqual((request.method, request.path), ("GET", "/cgi-bin/sms/http2sms.cgi"))
        self.assertEqual(
            request.query,
            {
                "account": ACCOUNT,
                "login": LOGIN,
                "password": PASSWORD,
                "from": "MAIRIE",
                "to": "0033612345000,0033612345001,0033612345002",
                "message": ACCENTED,  # parse_qs decodes UTF-8: a latin-1 or mangled text would differ
                "smsCoding": "2",
                "noStop": "1",
                "contentType": "text/json",
            },
        )
        ids = sorted(self.emulator.messages)
        self.assertEqual([(r.ref, r.provider_id) for r in results], list(zip(["ref0", "ref1", "ref2"], ids)))
        self.assertTrue(all(r.ok for r in results))
        self.assertEqual(self.emulator.messages[ids[1]]["to"], "0033612345001")
        self.assertEqual(self.provider.last_balance, 97.0)
        self.assertEqual(self.provider.get_balance(), 97.0)

    def test_gsm7_coding_and_lowercase_ids(self):
        self.emulator.ids_key = "smsIds"
        results = self.provider.send(self._messages(2, "Bonjour, RDV à 9h"))
        self.assertEqual(self.emulator.received[0].query["smsCoding"], "1")
        self.assertEqual(self.emulator.received[0].query["message"], "Bonjour, RDV à 9h")
        self.assertEqual([r.provider_id for r in results], sorted(self.emulator.messages))

    def test_grouping_by_text_and_unique_numbers(self):
        messages = [
            OutgoingSms("a", "+33612345001", "Text A"),
            OutgoingSms("b", "+33612345002", "Text B"),
            OutgoingSms("c", "+33612345003", "Text A"),
            OutgoingSms("d", "+33612345001", "Text A"),  # same number again: another call
            OutgoingSms("e", "+33612345004", "Text A", unicode=True),  # other coding: another call
        ]
        results = self.provider.send(messages)
        calls = sorted((r.query["message"], r.query["smsCoding"], r.query["to"]) for r in self.emulator.received)
        self.assertEqual(
            calls,
            [
                ("Text A", "1", "0033612345001"),
                ("Text A", "1", "0033612345001,0033612345003"),
                ("Text A", "2", "0033612345004"),
                ("Text B", "1", "0033612345002"),
            ],
        )
        self.assertEqual(sorted(r.ref for r in results), ["a", "b", "c", "d", "e"])
        self.assertEqual(len({r.provider_id for r in results}), 5)
        self.assertTrue(all(r.ok for r in results))

    def test_batches_of_500_with_send_all(self):
        messages = self._messages(1000, "Alerte météo")
        results = send_all(self.provider, messages, max_concurrency=2)
        self.assertEqual(sorted(len(r.query["to"].split(",")) for r in self.emulator.received), [500, 500])
        self.assertEqual([r.ref for r in results], [m.ref for m in messages])
        self.assertEqual(len({r.provider_id for r in results}), 1000)

    def test_without_sender_and_with_stop(self):
        self.provider = self._provider(sender=False, ovh_no_stop=False)
        self.assertTrue(self.provider.send(self._messages())[0].ok)
        query = self.emulator.received[0].query
        self.assertNotIn("from", query)
        self.assertEqual(query["noStop"], "0")

    def test_text_reply(self):
        self.emulator.answer_next(EmulatorResponse(200, "OK\n12.5\n111\n222\n", "text/plain"))
        results = self.provider.send(self._messages(2))
        self.assertEqual([r.provider_id for r in results], ["111", "222"])
        self.assertEqual(self.provider.last_balance, 12.5)
        self.emulator.answer_next(EmulatorResponse(200, "KO\nNot enough credit\n", "text/plain"))
        self._assert_all_failed(self.provider.send(self._messages()), "sms_credit", "Not enough credit")

    def test_fewer_ids_than_numbers(self):
        self.emulator.answer_next(EmulatorResponse(200, {"status": 100, "creditLeft": "5", "SmsIds": ["9"]}))
        results = self.provider.send(self._messages(2))
        self.assertEqual([r.ok for r in results], [True, True], "OVH accepted: retrying would send twice")
        self.assertEqual([r.provider_id for r in results], ["9", None])
        self.assertIn("1 id(s) for 2 number(s)", results[1].error_message)

    # -- documented errors ------------------------------------------------------
    def test_wrong_password(self):
        results = self._provider(password="nope").send(self._messages(2))
        self._assert_all_failed(results, "sms_acc", "Invalid login or password for this account (OVH status 401)")

    def test_wrong_account(self):
        results = self._provider(service_id="sms-zz0000-1").send(self._messages())
        self._assert_all_failed(results, "sms_acc", "Invalid smsAccount")

    def test_missing_credentials(self):
        results = self._provider(service_id="").send(self._messages())
        self._assert_all_failed(results, "sms_acc", "Missing credentials: SMS account (sms-xx1234-1)")
        self.assertEqual(self.emulator.received, [])

    def test_sender_not_found(self):
        self.emulator.authorised_senders = {"OTHER"}
        self._assert_all_failed(self.provider.send(self._messages()), "sms_acc", "Sender not found (OVH status 241)")

    def test_credits_run_out(self):
        self.emulator.credits = 2
        first = self.provider.send(self._messages(2))
        self.assertTrue(all(r.ok for r in first))
        self.assertEqual(self.provider.last_balance, 0.0)
        self._assert_all_failed(self.provider.send(self._messages()), "sms_credit", "Not enough credit")

    def test_invalid_number_isolated(self):
        # OVH's words name no number: the batch is sent again one number per call to find the culprit
        self.emulator.answer_next(EmulatorResponse(200, {"status": 202, "message": "Numéro de destinataire invalide"}))
        messages = self._messages(3)
        messages[1].number = "+33600000001"
        results = self.provider.send(messages)
        self.assertEqual([r.ok for r in results], [True, False, True])
        self.assertEqual(results[1].failure_type, "sms_number_format")
        self.assertIn("Invalid receiver: 0033600000001", results[1].error_message)
        self.assertEqual(len(self.emulator.received), 4, "the refused batch, then one call per number")
        self.assertEqual(len(self.emulator.messages), 2)

    # -- issue 9: bad numbers, credit, credentials, unknown answers ---------------
    def _taken_numbers(self):
        return sorted(m["to"] for m in self.emulator.messages.values())

    def test_invalid_number_alone(self):
        self.emulator.invalid_numbers = {"0033612340099"}
        self._assert_failed(self._send("+33612340099"), "sms_number_format", "Invalid receiver: 0033612340099")
        self.assertEqual(len(self.emulator.received), 1, "a refused number is never retried")
        self.assertEqual(self.emulator.messages, {})
        # OVH's refusal inside an HTTP error status is read for its words too, never taken as transient
        for answer in (
            EmulatorResponse(400, {"status": 202, "message": "Invalid receiver"}),
            EmulatorResponse(400, "KO\nInvalid receiver\n", "text/plain"),
            EmulatorResponse(200, {"status": 202, "message": "Numéro invalide"}),
        ):
            with self.subTest(answer=answer):
                self.emulator.reset()
                self.emulator.answer_next(answer)
                self._assert_failed(self._send(), "sms_number_format", "nvalid")
                self.assertEqual(len(self.emulator.received), 1)

    def test_invalid_number_in_batch(self):
        messages = self._messages(3)
        messages[1].number = "+33612340099"
        self.emulator.invalid_numbers = {"0033612340099"}
        results = self.provider.send(messages)
        self.assertEqual([r.ref for r in results if r.ok], ["ref0", "ref2"])
        [bad] = [r for r in results if not r.ok]
        self._assert_failed_result(bad, "sms_number_format", "Invalid receiver: 0033612340099")
        good_ids = [r.provider_id for r in results if r.ok]
        self.assertEqual(len(set(good_ids)), 2)
        self.assertEqual(sorted(good_ids), sorted(self.emulator.messages))
        self.assertEqual(self._taken_numbers(), ["0033612345000", "0033612345002"], "each valid number once")
        self.assertEqual(
            [r.query["to"] for r in self.emulator.received],
            ["0033612345000,0033612340099,0033612345002", "0033612345000,0033612345002"],
            "the refused call, then the valid numbers again in one call",
        )

    def test_no_credit(self):
        self.emulator.credits = 0
        self._assert_failed(self._send(), "sms_credit", "credit")
        self.assertEqual(self.emulator.messages, {})
        for answer, words in (
            (EmulatorResponse(200, {"status": 202, "message": "Crédit insuffisant"}), "Crédit insuffisant"),
            (EmulatorResponse(200, "KO\nNot enough credits for this receiver\n", "text/plain"), "credits"),
            (EmulatorResponse(200, {"status": 401, "message": "Not enough credit"}), "Not enough credit"),
        ):
            with self.subTest(answer=answer):
                self._assert_answer_fails(answer, "sms_credit", words)

    def test_bad_credentials(self):
        results = self._provider(password="nope").send(self._messages(2))
        self._assert_all_failed(results, "sms_acc", "Invalid login or password")
        self.assertEqual(self.emulator.messages, {})
        self._assert_answer_fails(
            EmulatorResponse(200, "KO\nInvalid smsAccount, it should look like 'sms-ab1234-1'.\n", "text/plain"),
            "sms_acc",
            "Invalid smsAccount",
        )
        self._assert_answer_fails(
            EmulatorResponse(200, {"status": 202, "message": "Compte SMS suspendu"}), "sms_acc", "suspendu"
        )

    def test_unknown_answer(self):
        for body in (
            {"status": 100, "creditLeft": "3", "SmsIds": ["KO"]},
            {"status": 100, "creditLeft": "3", "SmsIds": {"id": "1"}},
            {"status": 102, "creditLeft": "3"},
            "OK\n12.5\nERROR\n",
        ):
            with self.subTest(body=body):
                self._assert_answer_fails(EmulatorResponse(200, body), "sms_uncertain", "Unexpected answer")
        for body in ("KO", "KO\n", "ERROR", "ERROR: something went wrong\n", "KO\n12345\n"):
            with self.subTest(body=body):
                self.emulator.answer_next(EmulatorResponse(200, body, "text/plain"))
                [result] = self._send()
                self.assertFalse(result.ok)
                self.assertFalse(result.provider_id)
                self.assertEqual(result.failure_type, "sms_server")

    def test_unknown_status_is_transient(self):
        self.emulator.answer_next(EmulatorResponse(200, {"status": 999, "message": "  Weird   thing "}))
        self._assert_all_failed(self.provider.send(self._messages()), "sms_server", "Weird thing (OVH status 999)")

    # -- odd answers (the common ones come from ProviderTestCase) ----------------
    def test_invalid_json_served_as_text_json(self):
        self.emulator.answer_next(EmulatorResponse(200, '{"status":100,"SmsIds":[', "text/json"))
        self._assert_all_failed(
            self.provider.send(self._messages()), "sms_uncertain", "Unexpected answer from provider"
        )

    def test_success_without_ids(self):
        self.emulator.answer_next(EmulatorResponse(200, {"status": 100, "creditLeft": "3"}))
        self._assert_all_failed(self.provider.send(self._messages()), "sms_uncertain", "Unexpected answer")

    # -- balance / connection test --------------------------------------------
    def test_balance_only_after_send(self):
        self._assert_provider_error("unknown", self.provider.get_balance)
        self.assertFalse(OvhProvider.has_balance)

    def test_connection(self):
        self.assertIn("Connection OK", self.provider.test_connection())
        query = self.emulator.received[-1].query
        self.assertEqual(set(query), {"account", "login", "password", "contentType"}, "nothing sent")
        self.assertEqual(self.emulator.messages, {})
        self._assert_provider_error("sms_acc", self._provider(password="nope").test_connection)
        self._assert_provider_error("sms_server", self._provider(base_url=closed_port_url()).test_connection)

    # -- delivery reports -----------------------------------------------------
    def test_parse_delivery_report(self):
        for ptt, state, failure_type in (
            ("1", "pending", None),
            ("3", "pending", None),
            ("4", "sent", None),
            ("5", "error", "sms_not_delivered"),
            (6, "error", "sms_not_delivered"),
        ):
            with self.subTest(ptt=ptt):
                [report] = self.provider.parse_delivery_report({"id": "1000001", "ptt": ptt}, {})
                self.assertEqual(
                    (report.provider_id, report.state, report.failure_type), ("1000001", state, failure_type)
                )

    def test_parse_delivery_report_malformed(self):
        for payload in ({}, {"id": "1"}, {"ptt": "4"}, {"id": "1", "ptt": "x"}, {"id": "1", "ptt": "-2"}, None):
            with self.subTest(payload=payload), self.assertRaises(ValueError):
                self.provider.parse_delivery_report(payload, {})
