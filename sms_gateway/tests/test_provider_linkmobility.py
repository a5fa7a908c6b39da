import base64
import urllib.parse

from ..providers.linkmobility import LinkMobilityProvider
from .emulators.base import EmulatorResponse
from .emulators.linkmobility import INVALID_NUMBER, UNROUTABLE_NUMBER, LinkMobilityEmulator
from .provider_common import ProviderTestCase

USERNAME, PASSWORD = "ipxuser", "ipx-pässword"
ACCENTED = "Rendez-vous confirmé à la mairie, 14h ✅ Ça marche ? 👍"


class TestLinkMobilityProvider(ProviderTestCase):
    """Link Mobility's IPX REST call: a UTF-8 form with HTTP Basic, the originator's TON chosen
    from the sender, responseCode errors and one id per segment."""

    connector_class, emulator = LinkMobilityProvider, LinkMobilityEmulator(USERNAME, PASSWORD)
    config = {"username": USERNAME, "password": PASSWORD, "sender": "RDV Mairie"}
    success_answer = (200, "{responseCode:0")

    # -- success ------------------------------------------------------------
    def test_send_success(self):
        [result], request = self._send_request("POST", "/restapi/v1/sms/send", body=ACCENTED, unicode=True)
        self.assertTrue(result.ok)
        self.assertIn("application/x-www-form-urlencoded; charset=UTF-8", request.headers["content-type"])
        expected_auth = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
        self.assertIn(request.headers["authorization"], ("Basic " + expected_auth,))
        self.assertEqual(
            request.form,
            {
                "destinationAddress": "+33612345678",
                "messageText": ACCENTED,
                "originatingAddress": "RDV Mairie",
                "originatorTON": "1",
                "maxConcatenatedMessages": "10",
            },
        )
        self.assertIn(urllib.parse.quote_plus(ACCENTED).encode(), request.body, "UTF-8 percent-encoding")
        self.assertEqual(result.provider_id, next(iter(self.emulator.messages)))

    def test_multi_segment_ids_joined(self):
        result = self._send_one(body="x" * 400)
        self.assertTrue(result.ok)
        ids = result.provider_id.split(",")
        self.assertEqual(len(ids), 3, "one id per segment")
        self.assertEqual(ids[0], next(iter(self.emulator.messages)))

    def test_originator_ton_and_no_sender(self):
        self.assertEqual(LinkMobilityProvider.originator_ton("+33612345678"), "3")
        self.assertEqual(LinkMobilityProvider.originator_ton("38200"), "2")
        self.assertEqual(LinkMobilityProvider.originator_ton("Mairie"), "1")
        self.assertTrue(self._send_one(self._provider(sender="38200")).ok)
        self.assertEqual(self.emulator.received[-1].form["originatorTON"], "2")
        self.assertTrue(self._send_one(self._provider(sender="")).ok)
        self.assertNotIn("originatingAddress", self.emulator.received[-1].form)
        self.assertNotIn("originatorTON", self.emulator.received[-1].form)

    def test_one_destination_per_call(self):
        self._assert_one_request_per_message()

    # -- documented errors ----------------------------------------------------
    def test_wrong_password(self):
        self._assert_failed_result(self._send_one(self._provider(password="nope")), "sms_acc", "HTTP 401")

    def test_invalid_account_name(self):
        result = self._send_one(self._provider(username="other"))
        self._assert_failed_result(result, "sms_acc", "Invalid account name (responseCode 103)")

    def test_invalid_destination(self):
        result = self._send_one(number=INVALID_NUMBER)
        self._assert_failed_result(result, "sms_number_format", "Invalid destination address (responseCode 100)")
        self._assert_failed_result(self._send_one(number="n/a"), "sms_number_format", "responseCode 100")

    def test_unable_to_route_is_transient(self):
        self._assert_failed_result(self._send_one(number=UNROUTABLE_NUMBER), "sms_server", "Unable to route message")

    def test_too_low_balance(self):
        self._assert_credit_runs_out("Too low balance (responseCode 18)")

    def test_concatenation_limit(self):
        result = self._send_one(self._provider(max_concatenated=2), body="y" * 400)
        self._assert_failed_result(result, "unknown", "Concatenation limit exceeded (responseCode 15)")

    def test_invalid_campaign_name(self):
        result = self._send_one(self._provider(campaign_name="rdv"))
        self._assert_failed_result(result, "sms_acc", "Invalid campaign name (responseCode 117)")
        self.emulator.campaigns = {"rdv"}
        self.assertTrue(self._send_one(self._provider(campaign_name="rdv")).ok)

    def test_unknown_code_and_trailing_spaces(self):
        self.emulator.answer_next(EmulatorResponse(200, {"responseCode": 42, "responseMessage": "Odd   thing  "}))
        result = self._send_one()
        self.assertEqual((result.failure_type, result.error_message), ("sms_server", "Odd thing (responseCode 42)"))

    # -- bad numbers, credit, credentials, unknown answers (issue 9) ------------
    def _answer(self, code, words):
        return EmulatorResponse(200, {"responseCode": code, "responseMessage": words, "messageIds": []})

    def test_invalid_number_alone(self):
        result = self._send_one(number=INVALID_NUMBER)
        self._assert_failed_result(result, "sms_number_format", "Invalid destination address (responseCode 100)")
        self.assertEqual(len(self.emulator.received), 1, "one request: never retried")
        self.assertEqual(self.emulator.messages, {})
        # the words first, English or French: a number refused under another code
        self._assert_answer_fails(
            self._answer(4, "Aucun destinataire valide n'est renseigné"), "sms_number_format", "Aucun destinataire"
        )
        # ... and code 100 whose words are not about the number is not a number error
        self._assert_answer_fails(
            self._answer(100, "Ip non autorisée"), "sms_acc", "Ip non autorisée (responseCode 100)"
        )

    def test_invalid_number_in_batch(self):
        self.emulator.invalid_numbers = {"+33612345671"}
        numbers = ["+33612345670", "+33612345671", "+33612345672"]
        by_ref = self._send_with_invalid_middle(numbers, "Invalid destination address", prefix="r")
        taken = sorted(m["destinationAddress"] for m in self.emulator.messages.values())
        self.assertEqual(taken, ["+33612345670", "+33612345672"], "each valid number taken exactly once")
        self.assertEqual(set(self.emulator.messages), {by_ref["r0"].provider_id, by_ref["r2"].provider_id})

    def test_no_credit(self):
        self.emulator.credits = 0
        result = self._send_one()
        self._assert_failed_result(result, "sms_credit", "Too low balance (responseCode 18)")
        self._assert_says_credit(result.error_message)
        self.assertEqual(self.emulator.messages, {})
        # credit words under another code, in French
        self._assert_answer_fails(
            self._answer(7, "Crédit insuffisant"), "sms_credit", "Crédit insuffisant (responseCode 7)"
        )
        # ... and code 18 whose words are not about credit is not a credit error (no cool-down)
        self._assert_answer_fails(self._answer(18, "Le sujet est trop court"), "sms_server", "Le sujet est trop court")

    def test_bad_credentials(self):
        self._assert_failed_result(self._send_one(self._provider(password="wrong")), "sms_acc", "HTTP 401")
        self._assert_failed_result(
            self._send_one(self._provider(username="nobody")), "sms_acc", "Invalid account name (responseCode 103)"
        )
        self.assertEqual(len(self.emulator.received), 2)
        self._assert_answer_fails(self._answer(12, "Votre compte a été suspendu"), "sms_acc", "suspendu")

    def test_unknown_answer(self):
        for body in (
            {"responseCode": 0, "responseMessage": "Success", "messageIds": ["KO"]},
            {"responseCode": 0, "messageIds": [None]},
            {"responseCode": None, "responseMessage": "Success"},
            {"responseCode": "OK", "messageIds": ["1-2"]},
            {"status": "queued"},
        ):
            self._assert_answer_fails(EmulatorResponse(200, body), "sms_uncertain", "Unexpected answer")
        for text in ("KO", "ERROR"):
            self._assert_answer_fails(EmulatorResponse(200, text), "sms_uncertain", text)
        self._assert_answer_fails(self._answer(42, "Something odd"), "sms_server", "Something odd (responseCode 42)")
        self.assertEqual(self.emulator.messages, {})

    # -- odd answers (the common ones come from ProviderTestCase) ----------------
    def test_success_without_ids(self):
        self._assert_answer_fails(
            EmulatorResponse(200, {"responseCode": 0, "responseMessage": "Success"}),
            "sms_uncertain",
            "Unexpected answer",
        )

    def test_unexpected_status(self):
        self._assert_answer_fails(
            EmulatorResponse(404, "<html>Not Found</html>", "text/html"), "sms_server", "Provider answered HTTP 404"
        )

    # -- no balance, no reports -------------------------------------------------
    def test_no_balance_nor_reports(self):
        self._assert_no_balance_nor_reports()
