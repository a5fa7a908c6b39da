from ..providers.mobimel import MobimelProvider, classify_errors
from .emulators.base import EmulatorResponse
from .emulators.mobimel import MobimelEmulator
from .provider_common import ProviderTestCase

KEY = "mobimel-key"
ACCENTED = "Cantine : menu spécial fête de l'école vendredi 🎈 Bon appétit !"


class TestMobimelProvider(ProviderTestCase):
    """Mobimel's GET API: the key in the query, a ``resultat`` flag without message id, and
    ``erreurs`` read through Mobimel's code table and a few keywords."""

    connector_class, emulator = MobimelProvider, MobimelEmulator(KEY)
    config = {"api_key": KEY, "sender": "Mairie"}
    success_answer = (200, '{"resultat": 1')

    # -- success ------------------------------------------------------------
    def test_send_success(self):
        results, request = self._send_request("GET", "/api/envoyer/sms", body=ACCENTED, unicode=True)
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
        self._assert_missing_credential("Clé API (key)", api_key=" ")

    # -- documented errors ------------------------------------------------------
    def test_wrong_key(self):
        self._assert_failed(self._send(provider=self._provider(api_key="nope")), "sms_acc", "Clé API invalide")

    def test_invalid_number(self):
        self._assert_failed(self._send(number="+33600000009"), "sms_number_format", "Numéro de destinataire invalide")

    def test_credit_runs_out(self):
        self._assert_credit_runs_out("Crédit insuffisant")

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
        self._assert_answer_fails(EmulatorResponse(200, {"resultat": 0}), "sms_server", "no error given")

    # -- odd answers (the common ones come from ProviderTestCase) ----------------
    def test_unexpected_resultat(self):
        self._assert_answer_fails(EmulatorResponse(200, {"resultat": 2}), "sms_uncertain", "Unexpected answer")

    def test_http_403(self):
        self._assert_answer_fails(EmulatorResponse(403, "Forbidden", "text/plain"), "sms_acc", "HTTP 403")

    # -- no balance, no DLR ---------------------------------------------------
    def test_no_balance_nor_reports(self):
        self._assert_no_balance_nor_reports()
