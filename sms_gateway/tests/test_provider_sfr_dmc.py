import json
from datetime import datetime, timedelta

from ..providers.base import OutgoingSms, ProviderError
from ..providers.sfr_dmc import SfrDmcProvider
from .emulators.base import EmulatorResponse
from .emulators.sfr_dmc import INVALID_NUMBER, UNDELIVERED_NUMBER, SfrDmcEmulator
from .provider_common import ProviderTestCase, closed_port_url

SERVICE_ID, PASSWORD, SPACE_ID = "svc123", "pw-sfr", "4242"
ACCENTED = "Collecte des encombrants jeudi — pensez à sortir vos objets 🛋️"


class TestSfrDmcProvider(ProviderTestCase):
    """SFR DMC's JsonService: two JSON-encoded parameters, failures as HTTP 200 with
    ``success: false``, the media chosen from the text, pushcra reports and the pulled CRA."""

    connector_class, emulator = SfrDmcProvider, SfrDmcEmulator(SERVICE_ID, PASSWORD, SPACE_ID)
    config = {"service_id": SERVICE_ID, "password": PASSWORD, "space_id": SPACE_ID, "sender": "MAIRIE"}
    success_answer = (200, "{success:true")

    # -- success ------------------------------------------------------------
    def test_send_success(self):
        [result], request = self._send_request(
            "POST", "/DmcWS/1.5.8/JsonService/MessagesUnitairesWS/addSingleCall", body=ACCENTED, unicode=True
        )
        self.assertTrue(result.ok)
        self.assertEqual(set(request.form), {"authenticate", "messageUnitaire"})
        self.assertEqual(
            json.loads(request.form["authenticate"]),
            {"serviceId": SERVICE_ID, "servicePassword": PASSWORD, "spaceId": SPACE_ID},
        )
        self.assertEqual(
            json.loads(request.form["messageUnitaire"]),
            {"media": "SMSUnicode", "textMsg": ACCENTED, "to": "+33612345678", "from": "MAIRIE"},
        )
        self.assertIn("%C3%A0", request.body.decode(), "à sent as UTF-8")
        self.assertEqual(result.provider_id, str(next(iter(self.emulator.messages))))

    def test_media_values(self):
        def message(unicode, segments):
            return OutgoingSms("r", "+33612345678", "x", unicode=unicode, segments=segments)

        self.assertEqual(SfrDmcProvider.media(message(False, 1)), "SMS")
        self.assertEqual(SfrDmcProvider.media(message(False, 2)), "SMSLong")
        self.assertEqual(SfrDmcProvider.media(message(True, 1)), "SMSUnicode")
        self.assertEqual(SfrDmcProvider.media(message(True, 3)), "SMSUnicodeLong")
        self.assertTrue(self._send_one(body="a" * 200, segments=2).ok)
        self.assertEqual(json.loads(self.emulator.received[-1].form["messageUnitaire"])["media"], "SMSLong")
        self.assertTrue(self._send_one(body="é" * 100 + "✓", unicode=True, segments=2).ok)
        self.assertEqual(json.loads(self.emulator.received[-1].form["messageUnitaire"])["media"], "SMSUnicodeLong")

    def test_get_method_and_no_sender(self):
        result = self._send_one(self._provider(http_method="GET", sender=""))
        self.assertTrue(result.ok)
        request = self.emulator.received[0]
        self.assertEqual(request.method, "GET")
        self.assertNotIn("from", json.loads(request.query["messageUnitaire"]))

    # -- documented errors (HTTP 200, success false) ---------------------------------
    def test_authentication_failed(self):
        result = self._send_one(self._provider(password="wrong"))
        self._assert_failed_result(result, "sms_acc", "Authentification échouée (AUTHENTICATION_FAILED)")
        self._assert_failed_result(self._send_one(self._provider(space_id="1")), "sms_acc", "AUTHENTICATION_FAILED")

    def test_invalid_number(self):
        self._assert_failed_result(
            self._send_one(number=INVALID_NUMBER),
            "sms_number_format",
            f"Numéro de téléphone invalide : {INVALID_NUMBER} (INVALID_PARAMETERS)",
        )
        # a code naming the number, without words, is read too
        self._assert_answer_fails(
            EmulatorResponse(200, {"success": False, "errorCode": "INVALID_NUMBER"}),
            "sms_number_format",
            "INVALID_NUMBER",
        )

    # -- bad numbers, credit, credentials (issue 9): the type of each real answer ----
    def test_invalid_number_alone(self):
        self.emulator.invalid_numbers.add("+33611111111")
        result = self._send_one(number="+33611111111")
        # the detail names the recipient; the code alone (INVALID_PARAMETERS) would say "retry"
        self._assert_failed_result(result, "sms_number_format", "Numéro de téléphone invalide : +33611111111")
        self.assertEqual(len(self.emulator.received), 1, "one request: never retried")
        for detail in ("Le paramètre 'to' est invalide", "Invalid recipient", "Destinataire incorrect"):
            self._assert_answer_fails(
                EmulatorResponse(200, {"success": False, "errorCode": "INVALID_PARAMETERS", "errorDetail": detail}),
                "sms_number_format",
                f"{detail} (INVALID_PARAMETERS)",
            )
        self.emulator.buffer_answers = True
        result = self._send_one(number="+33611111111")
        self._assert_failed_result(result, "sms_number_format", "KO<invalid_number:{+33611111111}>")
        self.assertEqual(self.emulator.messages, {})

    def test_invalid_number_in_batch(self):
        self.emulator.invalid_numbers.add("+33611111112")
        numbers = ["+33611111110", "+33611111112", "+33611111114"]
        self._send_with_invalid_middle(numbers, "Numéro de téléphone invalide")
        taken = [message["to"] for message in self.emulator.messages.values()]
        self.assertEqual(sorted(taken), ["+33611111110", "+33611111114"], "each valid number taken exactly once")
        self.assertEqual(len(self.emulator.received), 3, "one request per message, none repeated")

    def test_no_credit(self):
        self.emulator.credits = 0
        result = self._send_one()
        # a code about the account, words about the credit: no credit (the account cools down), said so
        self._assert_failed_result(result, "sms_credit", "Crédit SMS insuffisant (ACCOUNT_ERROR)")
        self._assert_says_credit(result.error_message)
        self.assertEqual(len(self.emulator.received), 1)
        self.emulator.buffer_answers = True
        self._assert_failed_result(self._send_one(), "sms_credit", "KO<credit_exhausted:{null}>")

    def test_bad_credentials(self):
        result = self._send_one(self._provider(password="wrong"))
        self._assert_failed_result(result, "sms_acc", "Authentification échouée (AUTHENTICATION_FAILED)")
        self._assert_answer_fails(
            EmulatorResponse(200, {"success": False, "errorCode": "FORBIDDEN", "errorDetail": "Compte suspendu"}),
            "sms_acc",
            "Compte suspendu (FORBIDDEN)",
        )
        self.emulator.buffer_answers = True
        result = self._send_one(self._provider(password="wrong"))
        self._assert_failed_result(result, "sms_acc", "KO<authentication_failed:{null}>")
        self.assertEqual(self.emulator.messages, {})

    def test_unknown_answer(self):
        self._assert_answer_fails(
            EmulatorResponse(200, {"success": True, "response": {"id": 1}}), "sms_uncertain", "Unexpected answer"
        )
        self._assert_answer_fails(EmulatorResponse(200, "OK", "text/plain"), "sms_uncertain", "Unexpected answer")
        # a plain KO/ERROR is a refusal, never a success
        for body in ("KO", "ERROR", "KO<Invalid JSON:{null}>", "KO<empty_dmcServiceName:{dmcServiceName vide}>"):
            self.emulator.answer_next(EmulatorResponse(200, body, "text/plain"))
            self._assert_failed_result(self._send_one(), "sms_server", body)

    def test_wrong_media_is_not_sent(self):
        # a text outside GSM-7 declared as GSM-7: the provider refuses it
        self._assert_failed_result(self._send_one(body=ACCENTED, unicode=False), "sms_server", "INVALID_PARAMETERS")
        self.assertEqual(self.emulator.messages, {})

    def test_credit_and_unknown_codes(self):
        self.emulator.answer_next(
            EmulatorResponse(200, {"success": False, "errorCode": "CREDIT_EXHAUSTED", "errorDetail": "Crédit épuisé  "})
        )
        result = self._send_one()
        self.assertEqual(
            (result.failure_type, result.error_message), ("sms_credit", "Crédit épuisé (CREDIT_EXHAUSTED)")
        )
        self._assert_answer_fails(
            EmulatorResponse(200, {"success": False, "errorCode": "SOMETHING"}), "sms_server", "SOMETHING"
        )
        self._assert_answer_fails(EmulatorResponse(200, {"success": False}), "sms_server", "Unexpected answer")

    # -- odd answers (the common ones come from ProviderTestCase) ----------------
    def test_success_must_be_checked(self):
        self._assert_answer_fails(EmulatorResponse(200, {"response": 123}), "sms_uncertain", "Unexpected answer")
        self._assert_answer_fails(
            EmulatorResponse(200, {"success": "true", "response": 123}), "sms_uncertain", "Unexpected answer"
        )
        self._assert_answer_fails(EmulatorResponse(200, {"success": True}), "sms_uncertain", "Unexpected answer")

    def test_wrong_version_path(self):
        result = self._send_one(self._provider(base_url=f"{self.emulator.url}/DmcWS/x/JsonService"))
        self._assert_failed_result(result, "sms_server", "Provider answered HTTP 404")

    # -- no balance ---------------------------------------------------------------
    def test_no_balance(self):
        self.assertFalse(SfrDmcProvider.has_balance)
        with self.assertRaises(ProviderError) as capture:
            self.provider.test_connection()
        self.assertIn("only be tested by sending", str(capture.exception))
        self.assertEqual(self.emulator.received, [])

    # -- pushcra delivery reports -------------------------------------------------
    def _pushcra(self, status, call_id="26441597"):
        return {
            "Username": SERVICE_ID,
            "Media": "SMS",
            "To": "33612345678",
            "Status": status,
            "Call_id": call_id,
            "Broadcast_id": "1",
            "Contact_id": "2",
            "Ref_externe": "",
            "Space_id": SPACE_ID,
            "Date": "2026-11-23 10:00",
        }

    def test_parse_pushcra_json(self):
        cases = {
            **dict.fromkeys(("Distribué", "DELIVERED"), ("sent", None)),
            **dict.fromkeys(("Envoyé", "En cours"), ("pending", None)),
            **dict.fromkeys(("Non distribué", "Echec"), ("error", "sms_not_delivered")),
            "Expiré": ("error", "sms_expired"),
            "Rejeté": ("error", "sms_rejected"),
            "Numéro invalide": ("error", "sms_invalid_destination"),
        }
        for status, expected in cases.items():
            payload = self._pushcra(status)
            reports = self.provider.parse_delivery_report(payload)
            self.assertEqual(reports, self.provider.parse_delivery_report(dict(payload)), "idempotent")
            self.assertEqual(len(reports), 1)
            self.assertEqual(
                (reports[0].provider_id, reports[0].state, reports[0].failure_type), ("26441597", *expected), status
            )
            self.assertEqual(reports[0].extra["To"], "33612345678")

    def test_parse_pushcra_raw_bodies(self):
        raw_json = json.dumps([self._pushcra("Distribué", "1"), self._pushcra("Non distribué", "2")]).encode()
        reports = self.provider.parse_delivery_report(raw_json)
        self.assertEqual([(r.provider_id, r.state) for r in reports], [("1", "sent"), ("2", "error")])
        xml = (
            "<?xml version='1.0' encoding='UTF-8'?><cras><cra><Call_id>7</Call_id><Status>Distribué</Status>"
            "<To>33612345678</To></cra><cra><Call_id>8</Call_id><Status>Expiré</Status></cra></cras>"
        ).encode()
        reports = self.provider.parse_delivery_report(xml)
        self.assertEqual(
            [(r.provider_id, r.state, r.failure_type) for r in reports],
            [("7", "sent", None), ("8", "error", "sms_expired")],
        )
        single = "<cra><Call_id>9</Call_id><Status>Envoyé</Status></cra>"
        self.assertEqual(self.provider.parse_delivery_report(single)[0].state, "pending")

    def test_parse_pushcra_malformed(self):
        for payload in (
            {},
            {"Call_id": "1"},
            {"Status": "Distribué"},
            [],
            [{"Call_id": "1", "Status": "ok"}, "x"],
            "not a report",
            b"<cra><Call_id>1</Call_id>",
            "{broken json",
            None,
        ):
            with self.assertRaises(ValueError, msg=repr(payload)):
                self.provider.parse_delivery_report(payload)

    # -- pulled delivery reports (getSingleCallCra) ------------------------------------
    def _sent_ids(self, *numbers):
        ids = []
        for i, number in enumerate(numbers):
            result = self._send_one(number=number, ref=f"r{i}")
            self.assertTrue(result.ok)
            ids.append(result.provider_id)
        self.emulator.reset()
        return ids

    def test_fetch_delivery_reports(self):
        other, delivered, undelivered, pending = self._sent_ids(
            "+33612345670", "+33612345678", UNDELIVERED_NUMBER, "+33612345679"
        )
        self.emulator.cra_statuses[int(pending)] = "En cours"
        since = datetime.now() - timedelta(hours=1)
        reports = self.provider.fetch_delivery_reports([delivered, undelivered, pending, "99999999"], since=since)
        self.assertEqual(
            [(r.provider_id, r.state, r.failure_type, r.error_message) for r in reports],
            [
                (delivered, "sent", None, None),
                (undelivered, "error", "sms_not_delivered", "Non distribué"),
                (pending, "pending", None, None),
            ],
            "only the reports asked for",
        )
        request = self.emulator.received[0]
        self.assertEqual(
            (request.method, request.path), ("POST", "/DmcWS/1.5.8/JsonService/MessagesUnitairesWS/getSingleCallCra")
        )
        self.assertEqual(set(request.form), {"authenticate", "dSince", "idSince"})
        self.assertEqual(request.form["idSince"], str(int(delivered) - 1))
        self.assertEqual(request.form["dSince"], f"{since - timedelta(days=1):%Y-%m-%d %H:%M:%S}")
        self.assertEqual(len(self.emulator.received), 2, "a page short of the unknown id: asked once more")
        self.assertEqual(self.emulator.received[1].form["idSince"], pending)
        self.assertNotIn(other, [r.provider_id for r in reports])
        self.assertEqual(self.provider.fetch_delivery_reports([]), [])

    def test_fetch_delivery_reports_pages_json_and_old_messages(self):
        first, second, third = self._sent_ids("+33612345671", "+33612345672", "+33612345673")
        self.emulator.dates[int(first)] -= timedelta(days=10)  # before dSince: not listed any more
        self.emulator.cra_page_size = 1
        self.emulator.cra_json = True
        reports = self._provider(http_method="GET").fetch_delivery_reports([first, second, third])
        self.assertEqual([(r.provider_id, r.state) for r in reports], [(second, "sent"), (third, "sent")])
        self.assertEqual(
            [r.query.get("idSince") for r in self.emulator.received],
            [str(int(first) - 1), second, third],
            "one page per call, then an empty page ends",
        )
        self.assertTrue(all(r.method == "GET" for r in self.emulator.received))
        self.emulator.reset()
        capped = self._provider(sfr_cra_max_pages=1).fetch_delivery_reports([first, second, third])
        self.assertEqual((len(capped), len(self.emulator.received)), (1, 1))

    def test_fetch_delivery_reports_errors(self):
        (call_id,) = self._sent_ids("+33612345678")
        with self.assertRaises(ProviderError) as capture:
            self._provider(password="wrong").fetch_delivery_reports([call_id])
        self.assertEqual(capture.exception.failure_type, "sms_acc")
        self.assertIn("AUTHENTICATION_FAILED", str(capture.exception))
        self.emulator.mode = "http500"
        self._assert_provider_error("sms_server", self.provider.fetch_delivery_reports, [call_id])
        self.emulator.mode = "ok"
        for odd in (
            EmulatorResponse(200, "Numero;Etat\r\n1;ok\r\n", "text/csv"),  # no ID column
            EmulatorResponse(200, "ID;Date\r\n1;2026-11-23\r\n", "text/csv"),  # no status column
            EmulatorResponse(200, {"success": True, "response": {"not": "csv"}}),
            EmulatorResponse(200, {"unexpected": 1}),
        ):
            self.emulator.answer_next(odd)
            with self.assertRaises(ProviderError, msg=odd.body):
                self.provider.fetch_delivery_reports([call_id])
        with self.assertRaises(ProviderError) as capture:
            self._provider(base_url=closed_port_url()).fetch_delivery_reports([call_id])
        self.assertIn("connection refused", str(capture.exception))
        self.emulator.answer_next(EmulatorResponse(200, "", "text/csv"))
        self.assertEqual(self.provider.fetch_delivery_reports([call_id]), [], "no report yet")

    def test_cra_columns_and_statuses_configurable(self):
        csv_text = "\ufeffCall Id;Code;Libelle\r\n11;4;x\r\n12;5;y\r\n13;9;z\r\n14;Non distribué;w\r\n"
        provider = self._provider(
            sfr_cra_id_column="Call Id",
            sfr_cra_status_column="code",
            sfr_cra_statuses={"4": "sent", "5": "sms_expired", "9": "bogus"},
        )
        self.emulator.answer_next(EmulatorResponse(200, csv_text, "text/csv"))
        reports = provider.fetch_delivery_reports(["11", "12", "13", "14"])
        self.assertEqual(
            [(r.provider_id, r.state, r.failure_type) for r in reports],
            [
                ("11", "sent", None),
                ("12", "error", "sms_expired"),
                ("13", "pending", None),
                ("14", "error", "sms_not_delivered"),
            ],
        )
