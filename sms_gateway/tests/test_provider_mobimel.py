from odoo.tests import tagged

from ..providers.base import ProviderError
from ..providers.mobimel import MobimelProvider, classify_errors
from .emulators.base import EmulatorResponse
from .emulators.mobimel import MobimelEmulator
from .provider_common import ProviderTestCase

KEY = "mobimel-key"
ACCENTED = "Cantine : menu spécial fête de l'école vendredi 🎈 Bon appétit !"


@tagged("post_install", "-at_install", "sms_gateway_providers")
class TestMobimelProvider(ProviderTestCase):
    connector_class, emulator_class = MobimelProvider, MobimelEmulator
    emulator_args = (KEY,)
    config = {"api_key": KEY, "sender": "Mairie"}
    http_500_message = "Unexpected answer from provider (HTTP 500): 500 Internal Server Error"
    odd_timeout = 0.5
    truncated_json = '{"resultat": 1'

    # -- success ------------------------------------------------------------
    def test_send_success(self):
        results = self._send(body=ACCENTED, unicode=True)
        request = self.emulator.received[0]
        self.assertEqual((request.method, request.path), ("GET", "/api/envoyer/sms"))
        self.assertEqual(
            request.query,
            {
                "key": KEY,
                "type": "premium",
                "message": ACCENTED,
                "destinataires": "+33612345678",
                "expediteur": "Mairie",
            },
        )
        self.assertEqual(request.body, b"")
        self.assertEqual((results[0].ok, results[0].provider_id), (True, "ref1"), "our ref is the id")
        self.assertEqual(len(self.emulator.messages), 1)

    def test_type_and_no_sender(self):
        results = self._send(provider=self._provider(sender="", mobimel_type="lowcost"))
        self.assertTrue(results[0].ok)
        self.assertEqual(self.emulator.received[0].query["type"], "lowcost")
        self.assertNotIn("expediteur", self.emulator.received[0].query)

    def test_id_in_answer_is_used(self):
        self.emulator.answer_next(EmulatorResponse(200, {"resultat": 1, "id": "987654"}))
        self.assertEqual(self._send()[0].provider_id, "987654")

    def test_missing_key(self):
        self._assert_failed(
            self._send(provider=self._provider(api_key=" ")), "sms_acc", "Missing credentials: Clé API (key)"
        )
        self.assertEqual(self.emulator.received, [])

    # -- documented errors ------------------------------------------------------
    def test_wrong_key(self):
        self._assert_failed(self._send(provider=self._provider(api_key="nope")), "sms_acc", "Clé API invalide")

    def test_invalid_number(self):
        self._assert_failed(self._send(number="+33600000009"), "sms_number_format", "Numéro de destinataire invalide")

    def test_credit_runs_out(self):
        self.emulator.credits = 1
        self.assertTrue(self._send()[0].ok)
        self._assert_failed(self._send(), "sms_credit", "Crédit insuffisant")

    def test_sender_too_long(self):
        self._assert_failed(self._send(provider=self._provider(sender="MairieDeVilleneuve")), "sms_acc", "expéditeur")

    def test_error_codes(self):
        for erreurs, failure_type in (
            ("105", "sms_credit"),
            ("4", "sms_credit"),
            ("117", "sms_number_format"),
            ("3", "sms_number_format"),
            ("101", "sms_acc"),
            (["118"], "sms_acc"),
            ({"112": "Plus de crédit"}, "sms_credit"),
            ("107", "sms_server"),
            ("  Erreur   inconnue ", "sms_server"),
        ):
            with self.subTest(erreurs=erreurs):
                self.emulator.answer_next(EmulatorResponse(200, {"resultat": 0, "erreurs": erreurs}))
                [result] = self._send()
                self.assertEqual(result.failure_type, failure_type)
                self.assertTrue(result.error_message)
        self.assertEqual(classify_errors("  Erreur   inconnue "), ("sms_server", "Erreur inconnue"))
        self.emulator.answer_next(EmulatorResponse(200, {"resultat": 0}))
        self._assert_failed(self._send(), "sms_server", "no error given")

    # -- odd answers (the common ones come from ProviderTestCase) ----------------
    def test_unexpected_resultat(self):
        self.emulator.answer_next(EmulatorResponse(200, {"resultat": 2}))
        self._assert_failed(self._send(), "sms_server", "Unexpected answer")

    def test_http_403(self):
        self.emulator.answer_next(EmulatorResponse(403, "Forbidden", "text/plain"))
        self._assert_failed(self._send(), "sms_acc", "HTTP 403")

    # -- no balance, no DLR ---------------------------------------------------
    def test_no_balance_nor_reports(self):
        self.assertFalse(MobimelProvider.has_balance)
        with self.assertRaises(ProviderError):
            self.provider.test_connection()
        with self.assertRaises(ValueError):
            self.provider.parse_delivery_report({"id": "1"}, {})
