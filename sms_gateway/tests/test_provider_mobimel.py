from ..providers.base import OutgoingSms
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

    # -- issue 9: a bad number, no credit, bad credentials, unknown answers ---------
    def _assert_erreurs(self, erreurs, failure_type, contains):
        self._assert_answer_fails(EmulatorResponse(200, {"resultat": 0, "erreurs": erreurs}), failure_type, contains)

    def test_invalid_number_alone(self):
        self.emulator.invalid_numbers.add("+33600000001")
        self._assert_failed(self._send(number="+33600000001"), "sms_number_format", "Numéro de destinataire invalide")
        self.assertEqual(len(self.emulator.received), 1, "no retry")
        self.assertEqual(self.emulator.messages, [])
        # the words before the legacy code table: a number in the sentence is not a code
        for erreurs in ("Numéro de destinataire invalide : 4", "Invalid recipient number (error 105)"):
            with self.subTest(erreurs=erreurs):
                self._assert_erreurs(erreurs, "sms_number_format", erreurs)

    def test_invalid_number_in_batch(self):
        self.emulator.invalid_numbers.add("+33600000002")
        numbers = ["+33600000001", "+33600000002", "+33600000003"]
        results = self.provider.send([OutgoingSms(f"r{i}", number, "Hi") for i, number in enumerate(numbers)])
        self.assertEqual([r.ref for r in results], ["r0", "r1", "r2"])
        self.assertTrue(results[0].ok and results[2].ok, results)
        self.assertNotEqual(results[0].provider_id, results[2].provider_id)
        self._assert_failed_result(results[1], "sms_number_format", "Numéro de destinataire invalide")
        taken = sorted(query["destinataires"] for query in self.emulator.messages)
        self.assertEqual(taken, ["+33600000001", "+33600000003"], "each valid number taken once")
        self.assertEqual(len(self.emulator.received), 3)

    def test_no_credit(self):
        self.emulator.credits = 0
        [result] = self._send()
        self._assert_failed_result(result, "sms_credit", "Crédit insuffisant")
        self.assertEqual(self.emulator.messages, [])
        for erreurs, contains in (
            ("Crédit insuffisant : 3 SMS restants", "Crédit insuffisant : 3 SMS restants"),
            ("Insufficient credit (2 left)", "Insufficient credit"),
            ("Solde insuffisant", "No credit left on the provider account: Solde insuffisant"),
        ):
            with self.subTest(erreurs=erreurs):
                self._assert_erreurs(erreurs, "sms_credit", contains)

    def test_bad_credentials(self):
        self._assert_failed(self._send(provider=self._provider(api_key="nope")), "sms_acc", "Clé API invalide")
        self.assertEqual(self.emulator.messages, [])
        for erreurs in ("Compte suspendu (2 jours)", "Invalid API key 3"):
            with self.subTest(erreurs=erreurs):
                self._assert_erreurs(erreurs, "sms_acc", erreurs)

    def test_unknown_answer(self):
        for body in ({"resultat": "OK?"}, {"statut": 1}, ["resultat", 1]):
            with self.subTest(body=body):
                self._assert_answer_fails(EmulatorResponse(200, body), "sms_uncertain", "Unexpected answer")
        for text in ("KO", "ERROR", "OK"):
            with self.subTest(text=text):
                self._assert_answer_fails(EmulatorResponse(200, text, "text/plain"), "sms_uncertain", text)

    # -- odd answers (the common ones come from ProviderTestCase) ----------------
    def test_unexpected_resultat(self):
        self._assert_answer_fails(EmulatorResponse(200, {"resultat": 2}), "sms_uncertain", "Unexpected answer")

    def test_http_403(self):
        self._assert_answer_fails(EmulatorResponse(403, "Forbidden", "text/plain"), "sms_acc", "HTTP 403")

    # -- no balance, no DLR ---------------------------------------------------
    def test_no_balance_nor_reports(self):
        self._assert_no_balance_nor_reports()
