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
