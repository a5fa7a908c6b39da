import base64

from ..providers.clever import CleverProvider
from .emulators.base import EmulatorResponse
from .emulators.clever import INVALID_NUMBER, CleverEmulator
from .provider_common import ProviderTestCase

LOGIN, PASSWORD = "clever-login", "clever-pass"
ACCENTED = "Votre RDV à la MDS de Melun est confirmé pour jeudi 🗓️"


class TestCleverProvider(ProviderTestCase):
    """Clever's push API: HTTP Basic, one number per push, no message id (our reference stands
    for it) and errors only told by the HTTP status and an ``errors`` object."""

    connector_class, emulator = CleverProvider, CleverEmulator(LOGIN, PASSWORD)
    config = {"username": LOGIN, "password": PASSWORD}
    success_answer = (201, '{"push": {')

    # -- success ------------------------------------------------------------
    def test_send_success_uses_our_ref(self):
        result = self._send_one(body=ACCENTED, ref="uuid-42")
        self.assertTrue(result.ok)
        self.assertEqual(result.provider_id, "uuid-42", "no provider id: our reference stands for it")
        request = self.emulator.received[0]
        self.assertEqual((request.method, request.path), ("POST", "/api/pushs"))
        expected_auth = "Basic " + base64.b64encode(f"{LOGIN}:{PASSWORD}".encode()).decode()
        self.assertEqual(request.headers["authorization"], expected_auth)
        self.assertIn("application/json", request.headers["content-type"])
        self.assertEqual(request.json, {"datas": {"text": ACCENTED, "number_list": "+33612345678", "encodage": 3}})
        self.assertIn(ACCENTED.encode("utf-8"), request.body)
        self.assertEqual(self.emulator.pushes, [request.json["datas"]])

    def test_encodage_configurable(self):
        provider = self._provider(encodage_unicode=4)
        self.assertTrue(self._send_one(provider, body="✓ ok", unicode=True).ok)
        self.assertEqual(self.emulator.received[-1].json["datas"]["encodage"], 4)
        self.assertTrue(self._send_one(provider, body="plain").ok)
        self.assertEqual(self.emulator.received[-1].json["datas"]["encodage"], 3)
        self.assertTrue(self._send_one(self._provider(), body="✓ ok", unicode=True).ok)
        self.assertEqual(self.emulator.received[-1].json["datas"]["encodage"], 3, "default when not configured")
        result = self._send_one(self._provider(encodage="7"))
        self._assert_failed_result(result, "sms_server", "Invalid encodage")
        self.assertEqual(self.emulator.received[-1].json["datas"]["encodage"], 7)

    def test_one_number_per_call(self):
        results = self._assert_one_request_per_message()
        self.assertEqual([r.provider_id for r in results], ["r0", "r1", "r2"])
        self.assertEqual([p["number_list"] for p in self.emulator.pushes], [f"+3361234567{i}" for i in range(3)])

    # -- documented errors ----------------------------------------------------
    def test_unauthorized(self):
        self._assert_failed_result(
            self._send_one(self._provider(password="nope")), "sms_acc", "auth: Unauthorized (HTTP 401)"
        )

    def test_credit_exhausted(self):
        self.emulator.credits = 1
        self.assertTrue(self._send_one().ok)
        result = self._send_one()
        self._assert_failed_result(result, "sms_credit", "Payment Required: not enough credit (HTTP 402)")
        self.assertEqual(len(self.emulator.pushes), 1)

    def test_account_expired(self):
        self.emulator.expired = True
        self._assert_failed_result(self._send_one(), "sms_acc", "Account expired (HTTP 430)")

    def test_bad_request(self):
        self.emulator.answer_next(EmulatorResponse(400, {"errors": {"text": ["  Invalid value.  "]}}))
        result = self._send_one()
        self.assertEqual((result.failure_type, result.error_message), ("sms_server", "text: Invalid value. (HTTP 400)"))
        # the field refused is the recipient's: the number is refused (final), not the request
        self.emulator.answer_next(EmulatorResponse(400, {"errors": {"number_list": ["  Invalid value.  "]}}))
        result = self._send_one()
        self.assertEqual(
            (result.failure_type, result.error_message), ("sms_number_format", "number_list: Invalid value. (HTTP 400)")
        )

    def test_status_without_words(self):
        self._assert_answer_fails(EmulatorResponse(402, b""), "sms_credit", "Provider answered HTTP 402")

    # -- bad numbers, credit, credentials, unknown answers (issue 9) ------------
    def test_invalid_number_alone(self):
        result = self._send_one(number=INVALID_NUMBER)
        self._assert_failed_result(
            result, "sms_number_format", "number_list: This value is not a valid phone number. (HTTP 400)"
        )
        self.assertEqual(len(self.emulator.received), 1, "one request: never retried")
        self.assertEqual(self.emulator.pushes, [])
        # words naming an invalid number, in French, in a push answer or under another field
        self._assert_answer_fails(
            EmulatorResponse(201, {"push": {"nb_sms": 0, "error": "numéro invalide "}}),
            "sms_number_format",
            "numéro invalide",
        )
        self._assert_answer_fails(
            EmulatorResponse(400, {"errors": {"datas": "Numéro de téléphone invalide"}}),
            "sms_number_format",
            "Numéro de téléphone invalide",
        )

    def test_invalid_number_in_batch(self):
        numbers = ["+33612345670", INVALID_NUMBER, "+33612345672"]
        by_ref = self._send_with_invalid_middle(numbers, "number_list", prefix="r")
        self.assertEqual((by_ref["r0"].provider_id, by_ref["r2"].provider_id), ("r0", "r2"), "distinct ids: our refs")
        taken = sorted(p["number_list"] for p in self.emulator.pushes)
        self.assertEqual(taken, ["+33612345670", "+33612345672"], "each valid number taken exactly once")

    def test_no_credit(self):
        self.emulator.credits = 0
        result = self._send_one()
        self._assert_failed_result(result, "sms_credit", "Payment Required: not enough credit (HTTP 402)")
        self.assertEqual(self.emulator.pushes, [])
        # credit words under a 400 (French), and a bare 402: the message says "credit"
        self._assert_answer_fails(
            EmulatorResponse(400, {"errors": {"account": "Crédit insuffisant"}}), "sms_credit", "Crédit insuffisant"
        )
        self._assert_answer_fails(
            EmulatorResponse(201, {"push": {"nb_sms": 0, "error": "solde insuffisant"}}), "sms_credit", "solde"
        )
        self.emulator.answer_next(EmulatorResponse(402, b""))
        result = self._send_one()
        self._assert_failed_result(result, "sms_credit", "Provider answered HTTP 402")
        self._assert_says_credit(result.error_message)

    def test_bad_credentials(self):
        self._assert_failed_result(
            self._send_one(self._provider(password="wrong")), "sms_acc", "auth: Unauthorized (HTTP 401)"
        )
        self.assertEqual(len(self.emulator.received), 1)
        self._assert_answer_fails(
            EmulatorResponse(400, {"errors": {"login": "Identifiants incorrects"}}), "sms_acc", "Identifiants"
        )

    def test_unknown_answer(self):
        for body in (
            {"push": {}},
            {"push": {"nb_sms": "KO"}},
            {"push": {"nb_sms": True, "error": 0}},
            {"push": {"nb_sms": 0, "error": 0}},
            {"push": {"nb_sms": 1, "error": "KO"}},
            {"ok": True},
        ):
            self._assert_answer_fails(EmulatorResponse(201, body), "sms_uncertain", "Unexpected answer")
        for text in ("KO", "ERROR"):
            self._assert_answer_fails(EmulatorResponse(201, text), "sms_uncertain", text)
        self.assertEqual(self.emulator.pushes, [])

    # -- odd answers (the common ones come from ProviderTestCase) ----------------
    def test_push_error_without_sms(self):
        self._assert_answer_fails(
            EmulatorResponse(201, {"push": {"nb_sms": 0, "error": "service indisponible "}}),
            "sms_server",
            "Provider refused the push: service indisponible",
        )
        self.emulator.answer_next(EmulatorResponse(201, {"push": {"nb_sms": 1, "error": None}}))
        self.assertTrue(self._send_one().ok)

    def test_success_without_push(self):
        self._assert_answer_fails(EmulatorResponse(201, {"ok": True}), "sms_uncertain", "Unexpected answer")

    def test_html_error_page(self):
        self.emulator.answer_next(EmulatorResponse(400, "<html><body>Bad Request</body></html>", "text/html"))
        self._assert_failed_result(
            self._send_one(), "sms_server", "Unexpected answer from provider (HTTP 400): Bad Request"
        )

    # -- no balance ---------------------------------------------------------------
    def test_no_balance_nor_reports(self):
        self._assert_no_balance_nor_reports()
