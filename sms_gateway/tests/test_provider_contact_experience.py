from ..providers.contact_experience import ContactExperienceProvider
from .emulators.base import EmulatorResponse
from .emulators.contact_experience import INVALID_NUMBER, ContactExperienceEmulator
from .provider_common import ProviderTestCase

DEV_CODE = "DEVCODE-123"
ACCENTED = "Votre dossier RSA est complet ✔ Prochain rendez-vous : lundi à 10h 😊"


class TestContactExperienceProvider(ProviderTestCase):
    """Contact Experience's GET call: the devCode in the query, the reply e-mail address as
    emetteur, KO answers with trailing spaces and the id in the first item of the list."""

    connector_class, emulator = ContactExperienceProvider, ContactExperienceEmulator(DEV_CODE)
    config = {"api_key": DEV_CODE, "sender": "rdv@departement.example.fr"}
    success_answer = (200, '{"list": [{"id": "1"')

    # -- success ------------------------------------------------------------
    def test_send_success(self):
        [result], request = self._send_request(
            "GET", "/ccv/webServicesCCV/SMS/sendSms.php", body=ACCENTED, unicode=True
        )
        self.assertTrue(result.ok)
        self.assertEqual(
            request.query,
            {
                "number": "+33612345678",
                "msg": ACCENTED,
                "devCode": DEV_CODE,
                "emetteur": "rdv@departement.example.fr",
            },
        )
        self.assertEqual(request.body, b"")
        self.assertIn(result.provider_id, self.emulator.messages)
        self.assertEqual(self.emulator.messages[result.provider_id]["msg"], ACCENTED)

    def test_query_is_utf8(self):
        self.assertTrue(self._send_one(body="Crème brûlée 🍮").ok)
        # the emulator decodes the query as UTF-8: the text round-trips only if sent so
        self.assertEqual(self.emulator.received[0].query["msg"], "Crème brûlée 🍮")

    def test_one_number_per_call(self):
        self._assert_one_request_per_message()

    # -- documented errors ----------------------------------------------------
    def test_bad_dev_code(self):
        result = self._send_one(self._provider(api_key="nope"))
        self._assert_failed_result(result, "sms_acc", "BAD DEV CODE")
        self.assertEqual(result.error_message, "BAD DEV CODE", "trailing spaces stripped")

    def test_invalid_number(self):
        result = self._send_one(number=INVALID_NUMBER)
        self._assert_failed_result(result, "sms_number_format", "Invalid number")
        self.assertEqual(result.error_message, "Invalid number")
        self._assert_failed_result(self._send_one(number="12"), "sms_number_format", "Invalid number")

    def test_other_ko_is_transient(self):
        self._assert_failed_result(
            self._send_one(self._provider(sender="not-an-email")), "sms_server", "Invalid emetteur"
        )

    # -- bad numbers, credit, credentials (issue 9): the type of each real answer ----
    def test_invalid_number_alone(self):
        self.emulator.invalid_numbers.add("+33611111111")
        result = self._send_one(number="+33611111111")
        self._assert_failed_result(result, "sms_number_format", "Invalid number")
        self.assertEqual(result.error_message, "Invalid number", "the provider's words, trailing spaces stripped")
        self.assertEqual(len(self.emulator.received), 1, "one request: never retried")
        # the same refusal in other words (French, or naming the number) is still about that number
        for words in ("Numéro invalide ", "Invalid number : +33611111111 ", "Destinataire incorrect"):
            self._assert_answer_fails(
                EmulatorResponse(200, {"status": "KO", "message": words}), "sms_number_format", words.strip()
            )
        self.assertEqual(self.emulator.messages, {})

    def test_invalid_number_in_batch(self):
        self.emulator.invalid_numbers.add("+33611111112")
        numbers = ["+33611111110", "+33611111112", "+33611111114"]
        self._send_with_invalid_middle(numbers, "Invalid number")
        taken = [query["number"] for query in self.emulator.messages.values()]
        self.assertEqual(sorted(taken), ["+33611111110", "+33611111114"], "each valid number taken exactly once")
        self.assertEqual(len(self.emulator.received), 3, "one request per message, none repeated")

    def test_no_credit(self):
        self.emulator.credits = 0
        result = self._send_one()
        self._assert_failed_result(result, "sms_credit", "Crédit insuffisant")
        self._assert_says_credit(result.error_message)
        self.assertEqual(len(self.emulator.received), 1)
        self._assert_answer_fails(
            EmulatorResponse(200, {"status": "KO", "message": "Not enough credit "}), "sms_credit", "Not enough credit"
        )

    def test_bad_credentials(self):
        result = self._send_one(self._provider(api_key="nope"))
        self._assert_failed_result(result, "sms_acc", "BAD DEV CODE")
        self.assertEqual(result.error_message, "BAD DEV CODE")
        self._assert_answer_fails(
            EmulatorResponse(200, {"status": "KO", "message": "Compte suspendu "}), "sms_acc", "Compte suspendu"
        )
        self.assertEqual(self.emulator.messages, {})

    def test_unknown_answer(self):
        self._assert_answer_fails(
            EmulatorResponse(200, {"size": 1, "list": [{"ref": "x"}], "httpStatusCode": 201}),
            "sms_uncertain",
            "Unexpected answer",
        )
        # a plain KO/ERROR is a refusal, never a success; its words are read
        for body, failure_type in (
            ("KO", "sms_server"),
            ("ERROR", "sms_server"),
            ("KO : Invalid number", "sms_number_format"),
            ("Erreur : crédit insuffisant", "sms_credit"),
        ):
            self.emulator.answer_next(EmulatorResponse(200, body, "text/plain"))
            result = self._send_one()
            self._assert_failed_result(result, failure_type, body)
        # an error status inside the answer: its words are read too
        self._assert_answer_fails(
            EmulatorResponse(200, {"httpStatusCode": 400, "message": "Invalid number "}),
            "sms_number_format",
            "Invalid number",
        )

    # -- odd answers (the common ones come from ProviderTestCase) ----------------
    def test_success_shapes(self):
        for body in (
            {"size": 1, "total": None, "list": [], "httpStatusCode": 201},
            {"size": 1, "list": [{"id": ""}], "httpStatusCode": 201},
            {"size": 1, "list": "680560"},
            [],
        ):
            self.emulator.answer_next(EmulatorResponse(200, body))
            self._assert_failed_result(self._send_one(), "sms_uncertain", "Unexpected answer")
        # a refusal inside a 200 answer is a refusal, not a lost answer
        for body in ({"size": 1, "list": [{"id": "1"}], "httpStatusCode": 500}, {"status": "KO"}):
            self.emulator.answer_next(EmulatorResponse(200, body))
            self._assert_failed_result(self._send_one(), "sms_server", "Unexpected answer")
        self.emulator.answer_next(EmulatorResponse(201, {"list": [{"id": 77}]}))
        self.assertEqual(self._send_one().provider_id, "77")

    def test_html_page_with_php_warning(self):
        self.emulator.answer_next(
            EmulatorResponse(200, "<html><body><b>Warning</b>: mysql_connect()</body></html>", "text/html")
        )
        result = self._send_one()
        self._assert_failed_result(result, "sms_uncertain", "Warning : mysql_connect()")

    def test_unexpected_status(self):
        self._assert_answer_fails(EmulatorResponse(403, "Forbidden"), "sms_server", "Provider answered HTTP 403")

    # -- no balance ---------------------------------------------------------------
    def test_no_balance_nor_reports(self):
        self._assert_no_balance_nor_reports()
