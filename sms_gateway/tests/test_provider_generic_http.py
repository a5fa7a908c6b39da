import base64
import json

from ..providers.base import ProviderError
from ..providers.generic_http import _MISSING, GenericHttpProvider, json_path
from .emulators.base import EmulatorResponse
from .emulators.generic_http import GenericHttpEmulator
from .provider_common import ProviderTestCase

ACCENTED = "Fermeture exceptionnelle de la médiathèque jeudi — désolé 😕"
JSON_PARAMS = json.dumps(
    {"to": "{to}", "text": "{message}", "sender": "{sender}", "unicode": "{unicode}", "ref": "{ref}"}
)


class TestGenericHttpProvider(ProviderTestCase):
    """The generic connector against three typical gateways (JSON POST, GET with a query
    parameter key, form POST with a text answer) and every way its settings can be wrong."""

    connector_class, emulator = GenericHttpProvider, GenericHttpEmulator(("header", "X-Api-Key", "k-123"))
    config = {"sender": "Mairie", "username": "user", "password": "pw", "api_key": "k-123"}
    success_answer = (200, '{"status": 100,')

    def _json_provider(self, **config):
        return self._provider(
            **{
                "base_url": self.emulator.url + "/sms/json",
                "generic_method": "POST",
                "generic_body_format": "json",
                "generic_params": JSON_PARAMS,
                "generic_auth": "header",
                "generic_auth_name": "X-Api-Key",
                "generic_success_rule": "json:status==100",
                "generic_message_id_path": "result.smsIds.0",
                **config,
            }
        )

    def connector_for(self, root_url, **config):
        return self._json_provider(base_url=f"{root_url}/sms/json", **config)

    # -- the three dialects ---------------------------------------------------
    def test_post_json_header_auth(self):
        results, request = self._send_request("POST", "/sms/json", body=ACCENTED, unicode=True)
        self.assertEqual(request.headers["x-api-key"], "k-123")
        self.assertIn("application/json", request.headers["content-type"])
        self.assertEqual(
            request.json, {"to": "+33612345678", "text": ACCENTED, "sender": "Mairie", "unicode": "1", "ref": "ref1"}
        )
        self.assertTrue(results[0].ok, results[0])
        self.assertEqual(results[0].provider_id, min(self.emulator.messages))
        self.assertTrue(results[0].provider_id.startswith("G"))

    def test_get_query_param_auth(self):
        self.emulator.auth = ("param", "token", "k-123")
        provider = self._provider(
            base_url=self.emulator.url + "/send",
            generic_method="GET",
            generic_params='{"text": "{message}", "to": "{to_digits}", "sender": "{sender}", "pushtype": "alert"}',
            generic_auth="param",
            generic_auth_name="token",
            generic_success_rule="json:status==1",
            generic_message_id_path="ticket",
        )
        results, request = self._send_request("GET", "/send", body=ACCENTED, provider=provider)
        self.assertEqual(
            request.query,
            {"text": ACCENTED, "to": "33612345678", "sender": "Mairie", "pushtype": "alert", "token": "k-123"},
        )
        self.assertEqual(request.body, b"")
        self.assertEqual(results[0].provider_id, min(self.emulator.messages))

    def test_post_form_basic_auth_text_rule(self):
        self.emulator.auth = ("basic", "user", "pw")
        provider = self._provider(
            base_url=self.emulator.url + "/form",
            generic_params='{"to": "{to}", "msg": "{message}", "from": "{sender}"}',
            generic_auth="basic",
            generic_success_rule="text:OK",
        )
        results = self._send(body=ACCENTED, provider=provider)
        request = self.emulator.received[0]
        self.assertEqual(request.headers["authorization"], "Basic " + base64.b64encode(b"user:pw").decode())
        self.assertIn("application/x-www-form-urlencoded", request.headers["content-type"])
        self.assertEqual(request.form, {"to": "+33612345678", "msg": ACCENTED, "from": "Mairie"})
        self.assertIn("m%C3%A9diath%C3%A8que", request.body.decode("ascii"), "form-encoded as UTF-8")
        self.assertEqual((results[0].ok, results[0].provider_id), (True, "ref1"), "no id path: our ref is the id")
        self._assert_failed(
            self._send(number="+33600000009", provider=provider),
            "sms_number_format",
            "Refused by the gateway: KO Invalid number",
        )

    def test_quoted_json_rule(self):
        for answer in ({"StatusCode": "1"}, {"StatusCode": 1}):
            with self.subTest(answer=answer):
                self.emulator.answer_next(EmulatorResponse(200, answer))
                results = self._send(
                    provider=self._json_provider(
                        generic_success_rule='json:StatusCode=="1"', generic_message_id_path=""
                    )
                )
                self.assertTrue(results[0].ok)
        self.emulator.answer_next(EmulatorResponse(200, {"StatusCode": "3", "StatusInfo": "Authorization failed"}))
        results = self._send(provider=self._json_provider(generic_success_rule='json:StatusCode=="1"'))
        self._assert_failed(results, "sms_acc", "Authorization failed")

    def test_http_rule(self):
        self.emulator.answer_next(EmulatorResponse(202, b""))
        self.assertTrue(
            self._send(provider=self._json_provider(generic_success_rule="http", generic_message_id_path=""))[0].ok
        )

    def test_success_without_id(self):
        self.emulator.answer_next(EmulatorResponse(200, {"status": 100, "result": {}}))
        results = self._send()
        self.assertTrue(results[0].ok, "the gateway said yes: retrying would send twice")
        self.assertIsNone(results[0].provider_id)
        self.assertIn("no message id at result.smsIds.0", results[0].error_message)

    # -- refusals ---------------------------------------------------------------
    def test_gateway_refusals(self):
        self._assert_failed(self._send(number="+33600000009"), "sms_number_format", "Invalid number")
        self.emulator.credits = 0
        self._assert_failed(self._send(), "sms_credit", "Not enough credits")
        self._assert_answer_fails(EmulatorResponse(200, {"status": 999, "message": "Weird"}), "sms_server", "Weird")
        self._assert_answer_fails(
            EmulatorResponse(429, {"error": "Too many numbers per second"}), "sms_server", "HTTP 429"
        )

    # -- issue 9: bad numbers, credit, credentials, unknown answers ---------------
    def _form_provider(self, **config):
        self.emulator.auth = None
        return self._provider(
            base_url=self.emulator.url + "/form",
            generic_params='{"to": "{to}", "msg": "{message}", "from": "{sender}"}',
            generic_success_rule="text:OK",
            **config,
        )

    def test_invalid_number_alone(self):
        self.emulator.invalid_numbers = {"+33612340099"}
        self._assert_failed(self._send("+33612340099"), "sms_number_format", "Invalid number")
        self.assertEqual(len(self.emulator.received), 1, "a refused number is never retried")
        self.assertEqual(self.emulator.messages, {})
        # French words in a text/plain answer without charset (UTF-8 bytes): read, not mangled
        self.emulator.lang = "fr"
        self._assert_failed(
            self._send("+33612340099", provider=self._form_provider()), "sms_number_format", "KO Numéro invalide"
        )
        self._assert_answer_fails(
            EmulatorResponse(400, {"error": {"field": "to", "detail": "Invalid recipient"}}),
            "sms_number_format",
            "Invalid recipient",
        )

    def test_invalid_number_in_batch(self):
        self.emulator.invalid_numbers = {"+33612340099"}
        messages = self._messages(3)
        messages[1].number = "+33612340099"
        results = self.provider.send(messages)
        self.assertEqual([r.ok for r in results], [True, False, True])
        self._assert_failed_result(results[1], "sms_number_format", "Invalid number")
        self.assertEqual(len({results[0].provider_id, results[2].provider_id}), 2)
        self.assertEqual(sorted(r.provider_id for r in results if r.ok), sorted(self.emulator.messages))
        self.assertEqual(
            sorted(m["to"] for m in self.emulator.messages.values()), ["+33612345000", "+33612345002"], "once each"
        )
        self.assertEqual(len(self.emulator.received), 3, "one request per message, none retried")

    def test_no_credit(self):
        self.emulator.credits = 0
        self._assert_failed(self._send(), "sms_credit", "credit")
        self.emulator.lang = "fr"
        self._assert_failed(self._send(provider=self._form_provider()), "sms_credit", "KO Crédit insuffisant")
        self._assert_answer_fails(
            EmulatorResponse(200, {"status": -4, "message": "Not enough credits", "credits": 0}),
            "sms_credit",
            "credits",
        )
        self.assertEqual(self.emulator.messages, {})

    def test_bad_credentials(self):
        self._assert_failed(self._send(provider=self._json_provider(api_key="wrong")), "sms_acc", "unauthorized")
        self._assert_answer_fails(
            EmulatorResponse(200, {"status": 202, "message": "Compte suspendu"}), "sms_acc", "Compte suspendu"
        )
        self.assertEqual(self.emulator.messages, {})

    def test_unknown_answer(self):
        for body in ({"result": {"smsIds": ["G1"]}}, {"status": 100, "result": {"smsIds": ["ERROR"]}}):
            with self.subTest(body=body):
                self._assert_answer_fails(EmulatorResponse(200, body), "sms_uncertain", "Unexpected answer")
        self.emulator.answer_next(EmulatorResponse(200, b"Queued", "text/plain"))
        self._assert_failed(self._send(provider=self._form_provider()), "sms_uncertain", "Unexpected answer")
        # a plain KO/ERROR answer is a refusal whatever the rule, never an id
        for rule in ("http", "text:OK", "json:status==100"):
            for body in (b"KO", b"ERROR", b"ERROR: something went wrong", b"KO 12345"):
                with self.subTest(rule=rule, body=body):
                    self.emulator.answer_next(EmulatorResponse(200, body, "text/plain"))
                    provider = self._json_provider(generic_success_rule=rule, generic_message_id_path="")
                    [result] = self._send(provider=provider)
                    self.assertFalse(result.ok)
                    self.assertFalse(result.provider_id)
                    self.assertEqual(result.failure_type, "sms_server")
                    self.assertIn("Refused by the gateway", result.error_message)

    def test_wrong_key_and_payment_required(self):
        self._assert_failed(self._send(provider=self._json_provider(api_key="wrong")), "sms_acc", "HTTP 401")
        self._assert_answer_fails(EmulatorResponse(402, {"error": "Payment required"}), "sms_credit", "HTTP 402")

    # -- configuration errors -------------------------------------------------
    def test_invalid_configurations(self):
        for config, words in (
            ({"generic_params": "{to: message}"}, "not valid JSON"),
            ({"generic_params": "[1, 2]"}, "non-empty JSON object"),
            ({"generic_params": '{"to": "{to}", "text": "{body}"}'}, "unknown placeholder(s) {body}"),
            ({"generic_params": '{"text": "{message}"}'}, "{to}"),
            ({"generic_success_rule": "json:status=100"}, "invalid success rule"),
            ({"generic_success_rule": "regex:.*"}, "invalid success rule"),
            ({"generic_method": "PUT"}, "GET or POST"),
            ({"generic_method": "GET"}, "only send its parameters in the query"),
            ({"generic_body_format": "xml"}, "query, form or json"),
            ({"generic_auth": "header", "generic_auth_name": ""}, "name of the header"),
            ({"generic_auth": "oauth"}, "none, basic, header or param"),
            ({"base_url": "ftp://example.com"}, "full URL"),
            ({"generic_message_id_path": "a..b"}, "invalid message id path"),
            (
                {"generic_body_format": "form", "generic_params": '{"to": "{to}", "m": {"x": "{message}"}}'},
                "nested values",
            ),
        ):
            with self.subTest(config=config):
                provider = self._json_provider(**config)
                self._assert_failed(self._send(provider=provider), "sms_acc", words)
                with self.assertRaises(ProviderError):
                    provider.test_connection()
        self.assertEqual(self.emulator.received, [], "nothing sent with a bad configuration")
        self.assertIn("Configuration valid", self.provider.test_connection())

    # -- odd answers (the common ones come from ProviderTestCase) ----------------
    def test_redirect_not_followed(self):
        self._assert_answer_fails(EmulatorResponse(302, b"", headers={"Location": "/login"}), "sms_server", "HTTP 302")

    # -- helpers --------------------------------------------------------------
    def test_json_path(self):
        data = {"smsIds": ["a", "b"], "result": {"id": 7, "list": [{"id": "x"}]}}
        self.assertEqual(json_path(data, "smsIds.0"), "a")
        self.assertEqual(json_path(data, "smsIds.-1"), "b")
        self.assertEqual(json_path(data, "result.id"), 7)
        self.assertEqual(json_path(data, "result.list.0.id"), "x")
        self.assertIs(json_path(data, "smsIds.2"), _MISSING)
        self.assertIs(json_path(data, "result.nope"), _MISSING)
        self.assertIs(json_path([1], "a"), _MISSING)
