from ..providers.orange import OrangeProvider
from .emulators.base import EmulatorResponse
from .emulators.orange import OrangeEmulator
from .provider_common import ProviderTestCase

TOKEN = "orange-token"
ACCENTED = "Collecte des encombrants demain : sortez-les avant 6h ♻️ Merci !"


class TestOrangeProvider(ProviderTestCase):
    """Orange's API Light: one UTF-8 form per message, the diffusion's identifier as the whole
    answer, and errors classified by status and words (no error codes are published)."""

    connector_class, emulator = OrangeProvider, OrangeEmulator(TOKEN)
    config = {"api_key": TOKEN, "sender": "IGNORED"}
    success_answer = (200, '{"id": ')

    # -- success ------------------------------------------------------------
    def test_send_unicode_success(self):
        results, request = self._send_request("POST", "/api/light/diffusions/sms", body=ACCENTED, unicode=True)
        self.assertIn("application/x-www-form-urlencoded", request.headers["content-type"])
        self.assertEqual(request.form, {"token": TOKEN, "to": "+33612345678", "msg": ACCENTED, "xcharset": "true"})
        self.assertEqual(request.query, {})
        self.assertIn("%E2%99%BB", request.body.decode("ascii"), "UTF-8 form encoding of the emoji")
        self.assertTrue(results[0].ok, results[0])
        self.assertEqual(list(self.emulator.messages), [results[0].provider_id])

    def test_gsm_flag_and_options(self):
        provider = self._provider(orange_diffusion_name="Rappels", orange_category="info", orange_locale="fr_FR")
        results = self._send(body="Réunion à 18h", provider=provider)
        self.assertTrue(results[0].ok)
        self.assertEqual(
            self.emulator.received[0].form,
            {
                "token": TOKEN,
                "to": "+33612345678",
                "msg": "Réunion à 18h",
                "xcharset": "false",
                "diffusionname": "Rappels",
                "category": "info",
                "locale": "fr_FR",
            },
        )

    def test_identifier_as_json_string(self):
        self.emulator.answer_next(EmulatorResponse(200, '"abc-123"', "application/json"))
        self.assertEqual(self._send()[0].provider_id, "abc-123")

    def test_missing_token(self):
        self._assert_missing_credential("Token (API Light)", api_key="")

    # -- documented errors ------------------------------------------------------
    def test_wrong_token(self):
        results = self._send(provider=self._provider(api_key="nope"))
        self._assert_failed(results, "sms_acc", "Invalid token (HTTP 401, logId ")

    def test_invalid_number(self):
        self._assert_failed(self._send(number="+33600000009"), "sms_number_format", "Invalid msisdn +33600000009")

    def test_credit_runs_out(self):
        self._assert_credit_runs_out("Insufficient credit (HTTP 402")

    def test_other_error_is_transient_and_stripped(self):
        self._assert_answer_fails(
            EmulatorResponse(400, {"message": "  Diffusion   refusée ", "logId": "L1"}),
            "sms_server",
            "Diffusion refusée (HTTP 400, logId L1)",
        )

    # -- bad numbers, credit, credentials (issue 9): the type of each real answer ----
    def test_invalid_number_alone(self):
        self.emulator.invalid_numbers.add("+33611111111")
        result = self._send_one(number="+33611111111")
        self._assert_failed_result(result, "sms_number_format", "Invalid msisdn +33611111111 (HTTP 400, logId ")
        self.assertEqual(len(self.emulator.received), 1, "one request: never retried")
        # the French words of the same refusal, and a 400 naming the recipient field
        french = self._provider(orange_locale="fr_FR")
        result = self._send_one(french, number="+33611111111")
        self._assert_failed_result(result, "sms_number_format", "Numéro de destinataire invalide : +33611111111")
        self._assert_answer_fails(
            EmulatorResponse(400, {"message": "Invalid value for parameter 'to'", "logId": "L2"}),
            "sms_number_format",
            "Invalid value for parameter 'to' (HTTP 400, logId L2)",
        )
        self.assertEqual(self.emulator.messages, {})

    def test_invalid_number_in_batch(self):
        self.emulator.invalid_numbers.add("+33611111112")
        numbers = ["+33611111110", "+33611111112", "+33611111114"]
        self._send_with_invalid_middle(numbers, "Invalid msisdn +33611111112")
        taken = [fields["to"] for fields in self.emulator.messages.values()]
        self.assertEqual(sorted(taken), ["+33611111110", "+33611111114"], "each valid number taken exactly once")
        self.assertEqual(len(self.emulator.received), 3, "one request per message, none repeated")

    def test_no_credit(self):
        self.emulator.credits = 0
        result = self._send_one()
        self._assert_failed_result(result, "sms_credit", "Insufficient credit (HTTP 402, logId ")
        self._assert_says_credit(result.error_message)
        # French words: still no credit, and said so, whatever the status
        result = self._send_one(self._provider(orange_locale="fr_FR"))
        self._assert_failed_result(result, "sms_credit", "Crédit insuffisant (HTTP 402")
        self._assert_says_credit(result.error_message)
        self._assert_answer_fails(
            EmulatorResponse(403, {"message": "Crédit épuisé sur ce compte", "logId": "L3"}),
            "sms_credit",
            "Crédit épuisé sur ce compte (HTTP 403, logId L3)",
        )

    def test_bad_credentials(self):
        result = self._send_one(self._provider(api_key="nope"))
        self._assert_failed_result(result, "sms_acc", "Invalid token (HTTP 401, logId ")
        self._assert_failed_result(
            self._send_one(self._provider(api_key="nope", orange_locale="fr_FR")), "sms_acc", "Jeton invalide"
        )
        self._assert_answer_fails(
            EmulatorResponse(400, {"message": "Compte suspendu", "logId": "L4"}), "sms_acc", "Compte suspendu"
        )
        self.assertEqual(self.emulator.messages, {})

    def test_unknown_answer(self):
        self._assert_answer_fails(EmulatorResponse(200, {"status": "ok"}), "sms_uncertain", "Unexpected answer")
        self._assert_answer_fails(
            EmulatorResponse(200, {"message": "Diffusion créée"}), "sms_uncertain", "Unexpected answer"
        )
        # a plain KO/ERROR where the identifier should be is a refusal, never an identifier
        for body in ("KO", "ERROR", "Erreur : numéro invalide", "ko"):
            self.emulator.answer_next(EmulatorResponse(200, body, "text/plain"))
            result = self._send_one()
            self.assertFalse(result.ok, body)
            self.assertFalse(result.provider_id, body)
            self.assertIn(body, result.error_message)
        self.emulator.answer_next(EmulatorResponse(200, "Erreur : numéro invalide", "text/plain"))
        self.assertEqual(self._send_one().failure_type, "sms_number_format")
        self.emulator.answer_next(EmulatorResponse(200, "KO", "text/plain"))
        self.assertEqual(self._send_one().failure_type, "sms_server")
        self.emulator.answer_next(EmulatorResponse(200, '"ERROR"', "application/json"))
        self.assertFalse(self._send_one().ok)

    # -- odd answers (the common ones come from ProviderTestCase) ----------------
    def test_invalid_json_error(self):
        self._assert_answer_fails(
            EmulatorResponse(400, '{"message": ', "application/json"),
            "sms_server",
            "Unexpected answer from provider (HTTP 400)",
        )

    def test_plain_text_served_as_html(self):
        self._assert_answer_fails(
            EmulatorResponse(200, "Maintenance", "text/html; charset=utf-8"), "sms_uncertain", "Maintenance"
        )

    def test_json_object_without_id(self):
        self._assert_answer_fails(EmulatorResponse(200, {"status": "ok"}), "sms_uncertain", "Unexpected answer")

    # -- no balance, no DLR ---------------------------------------------------
    def test_no_balance_nor_reports(self):
        self._assert_no_balance_nor_reports()
