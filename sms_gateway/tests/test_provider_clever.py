import base64

from ..providers.clever import CleverProvider
from .emulators.base import EmulatorResponse
from .emulators.clever import CleverEmulator
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
        self.emulator.answer_next(EmulatorResponse(400, {"errors": {"number_list": ["  Invalid value.  "]}}))
        result = self._send_one()
        self.assertEqual((result.failure_type, result.error_message), ("sms_server", "Invalid value. (HTTP 400)"))

    def test_status_without_words(self):
        self._assert_answer_fails(EmulatorResponse(402, b""), "sms_credit", "Provider answered HTTP 402")

    # -- odd answers (the common ones come from ProviderTestCase) ----------------
    def test_push_error_without_sms(self):
        self._assert_answer_fails(
            EmulatorResponse(201, {"push": {"nb_sms": 0, "error": "numero invalide "}}), "sms_server", "numero invalide"
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
