"""The base of the connector tests: :class:`ProviderTestCase`.

A connector test class names its connector, its emulator and the settings under test; the base starts the
emulator once for the class, resets it before each test, builds the connectors on a loopback session and
checks that the connector copes with the odd answers every provider may give.
"""

import socket
import time
from types import SimpleNamespace

from odoo.tests import BaseCase, tagged

from ..providers.base import FAILURE_SERVER, FAILURE_UNCERTAIN, OutgoingSms, ProviderError, plain_words
from .emulators.base import EmulatorResponse, LoopbackSession


def closed_port_url():
    """The URL of a loopback port nobody listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@tagged("post_install", "-at_install", "sms_gateway_providers")  # the subclasses inherit the tags
class ProviderTestCase(BaseCase):
    """One connector against its emulator.

    ``emulator`` is started once for the class and reset (``reset()``, ``reset_state()``) before each test;
    ``self.provider`` is a connector on it built by :meth:`_provider` with the class's ``config``.

    The odd-answer tests below (server errors, dropped connections, timeouts, refused connections, TLS
    errors, invalid JSON, empty bodies and HTML pages) run for every connector: each must end as a failed
    send, never as a crash or a success.
    """

    # Odoo's test loader only runs test methods defined on the class itself unless this is set
    allow_inherited_tests_method = True

    #: the connector class under test
    connector_class = None
    #: the emulator (a :class:`~.emulators.base.ProviderEmulator`, started by ``setUpClass``)
    emulator = None
    #: the connector's settings in every test (besides ``base_url`` and ``timeout``)
    config = {}
    #: the recipients of :meth:`_messages` (formatted with the message's index)
    numbers = "+33612345{:03d}"
    #: the provider's successful send answer: its HTTP status (the odd bodies come with it) and how its JSON
    #: starts (cut off there for the invalid-JSON case)
    success_answer = (200, '{"status": ')
    #: the timeout (seconds) configured for the timeout case; the emulator hangs longer
    odd_timeout = 0.5

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.emulator.start()
        cls.addClassCleanup(cls.emulator.stop)

    def setUp(self):
        super().setUp()
        # the timeout case of an earlier test is answered late: wait for it, or that late request would take
        # (or be counted as) this test's
        deadline = time.monotonic() + 5
        while self.emulator.in_flight and time.monotonic() < deadline:
            time.sleep(0.02)
        self.emulator.reset()
        self.emulator.reset_state()
        self.emulator.hang_seconds = 1.0
        self.provider = self.connector_for(self.emulator.url)

    # -- connectors -----------------------------------------------------------
    def _provider(self, **config):
        """A connector on the emulator, with ``config`` over the class's settings."""
        session = LoopbackSession()
        self.addCleanup(session.close)
        values = {"base_url": self.emulator.api_url, "timeout": 2, **self.config, **config}
        return self.connector_class(values, session=session)

    def connector_for(self, root_url, **config):
        """The connector under test, talking to the server at ``root_url`` (scheme, host, port)."""
        return self._provider(base_url=root_url + self.emulator.api_path, **config)

    # -- helpers --------------------------------------------------------------
    def _messages(self, count=1, body="Hello", unicode=False, prefix="ref", number=None):
        """``count`` messages ``<prefix>0``... to ``number`` (default ``numbers``) formatted with their index."""
        number = number or self.numbers
        return [OutgoingSms(f"{prefix}{i}", number.format(i), body, unicode=unicode) for i in range(count)]

    def _send(self, number="+33612345678", body="Hello", provider=None, **kwargs):
        """Send one message ``ref1`` through ``provider`` (default ``self.provider``)."""
        return (provider or self.provider).send([OutgoingSms("ref1", number, body, **kwargs)])

    def _send_request(self, method, path, **kwargs):
        """Send one message (:meth:`_send` with ``kwargs``) and check that it made one ``method`` request
        to ``path``; return ``(results, that request)``."""
        results = self._send(**kwargs)
        self.assertEqual([(r.method, r.path) for r in self.emulator.received], [(method, path)])
        return results, self.emulator.received[0]

    def _send_one(self, provider=None, body="Hello", number="+33612345678", ref="r1", **kwargs):
        """Send one message ``ref`` through ``provider`` (default ``self.provider``); return its result."""
        results = (provider or self.provider).send([OutgoingSms(ref, number, body, **kwargs)])
        self.assertEqual([r.ref for r in results], [ref])
        return results[0]

    def _assert_failed_result(self, result, failure_type, contains):
        """``result`` is a failure of ``failure_type`` whose message contains ``contains``."""
        self.assertFalse(result.ok)
        self.assertFalse(result.provider_id)
        self.assertEqual(result.failure_type, failure_type)
        self.assertIn(contains, result.error_message)

    def _assert_failed(self, results, failure_type, contains):
        """``results`` is the single failed result of message ``ref1``."""
        self.assertEqual(len(results), 1)
        self.assertEqual(results[0].ref, "ref1")
        self._assert_failed_result(results[0], failure_type, contains)

    def _assert_all_failed(self, results, failure_type, contains):
        """Every result of ``results`` (at least one) is a failure of ``failure_type`` saying ``contains``."""
        self.assertTrue(results)
        for result in results:
            self._assert_failed_result(result, failure_type, contains)

    def _assert_answer_fails(self, answer, failure_type, contains):
        """The provider answers ``answer`` (an :class:`EmulatorResponse`) to one message: a failure of
        ``failure_type`` saying ``contains``."""
        self.emulator.answer_next(answer)
        self._assert_failed(self._send(), failure_type, contains)

    def _send_with_invalid_middle(self, numbers, contains, prefix="b", body="Hello"):
        """Send one message per number of ``numbers`` (three), the middle one invalid for the provider: it is
        refused (sms_number_format, ``contains`` in its message), the other two are sent, each under its own
        id. Return ``{ref: result}``; the caller checks on its emulator that each valid number was taken once."""
        messages = [OutgoingSms(f"{prefix}{i}", number, body) for i, number in enumerate(numbers)]
        results = {r.ref: r for r in self.provider.send(messages)}
        first, bad, last = (m.ref for m in messages)
        self.assertEqual(sorted(results), sorted([first, bad, last]))
        self._assert_failed_result(results[bad], "sms_number_format", contains)
        self.assertTrue(results[first].ok and results[last].ok, results)
        self.assertNotEqual(results[first].provider_id, results[last].provider_id)
        return results

    def _assert_says_credit(self, message):
        """``message`` tells the user the provider account's credit is the problem (in English or French)."""
        self.assertIn("credit", plain_words(message).lower())

    def _assert_credit_runs_out(self, contains):
        """With credit for one message, the first is sent and the second fails (sms_credit, ``contains``)."""
        self.emulator.credits = 1
        self.assertTrue(self._send()[0].ok)
        self._assert_failed(self._send(), "sms_credit", contains)

    def _assert_missing_credential(self, label, **config):
        """A send with a required credential left empty (``config``) fails (sms_acc) naming its ``label``,
        without any request."""
        self._assert_failed(self._send(provider=self._provider(**config)), "sms_acc", f"Missing credentials: {label}")
        self.assertEqual(self.emulator.received, [])

    def _assert_balance(self, expected, method, path):
        """``get_balance()`` is ``expected``, read with a ``method`` request to ``path``; return that request."""
        self.assertEqual(self.provider.get_balance(), expected)
        request = self.emulator.received[-1]
        self.assertEqual((request.method, request.path), (method, path))
        return request

    def _assert_provider_error(self, failure_type, call, *args):
        """``call(*args)`` raises ProviderError of ``failure_type``; return the error."""
        with self.assertRaises(ProviderError) as caught:
            call(*args)
        self.assertEqual(caught.exception.failure_type, failure_type)
        return caught.exception

    def _assert_one_request_per_message(self, count=3):
        """``batch_size`` 1: ``count`` messages sent at once make ``count`` requests, each accepted under an
        id of its own; return the results."""
        self.assertEqual(self.connector_class.batch_size, 1)
        results = self.provider.send([OutgoingSms(f"r{i}", f"+3361234567{i}", "Hi") for i in range(count)])
        self.assertEqual(len(self.emulator.received), count)
        self.assertEqual([r.ref for r in results], [f"r{i}" for i in range(count)])
        self.assertTrue(all(r.ok for r in results))
        self.assertEqual(len({r.provider_id for r in results}), count)
        return results

    def _assert_no_balance_nor_reports(self):
        """Without balance call nor delivery reports: asking for either fails, and so does testing the
        connection (it would take sending an SMS); nothing reaches the provider."""
        self.assertFalse(self.connector_class.has_balance)
        self.assertFalse(self.connector_class.has_delivery_reports)
        self.assertRaises(ProviderError, self.provider.get_balance)
        error = self._assert_provider_error("unknown", self.provider.test_connection)
        self.assertIn("only be tested by sending", str(error))
        self.assertRaises(ValueError, self.provider.parse_delivery_report, {"id": "1"}, {})
        self.assertEqual(self.emulator.received, [])

    # -- the odd answers ------------------------------------------------------
    def odd_answer_messages(self):
        """What the odd-answer cases send (every message of it must fail)."""
        return [OutgoingSms("ref1", "+33612345678", "Hello")]

    def expected_failure_type(self, odd_answer):
        """The failure type expected for ``odd_answer`` (the test name without ``test_``): an answer lost
        or unreadable once the request was out (timeout, dropped connection, a 2xx the connector cannot
        read) means the provider may have taken the SMS; the others are refusals or never reached it."""
        if odd_answer in ("timeout", "dropped_connection"):
            return FAILURE_UNCERTAIN
        if odd_answer in ("invalid_json", "empty_body", "html_page") and 200 <= self.success_answer[0] < 300:
            return FAILURE_UNCERTAIN
        return FAILURE_SERVER

    def _send_odd(self, odd_answer, connector=None, contains=""):
        """Send :meth:`odd_answer_messages` and check each one failed with the expected failure type
        and an error message containing ``contains``; return the results."""
        messages = self.odd_answer_messages()
        results = (connector or self.connector_for(self.emulator.url)).send(messages)
        self.assertEqual(sorted(r.ref for r in results), sorted(m.ref for m in messages))
        for result in results:
            self._assert_failed_result(result, self.expected_failure_type(odd_answer), contains)
        return results

    def test_http_500(self):
        self.emulator.mode = "http500"
        for result in self._send_odd("http_500", contains="HTTP 500"):
            self.assertIn(
                result.error_message,
                ("Provider answered HTTP 500", "Unexpected answer from provider (HTTP 500): 500 Internal Server Error"),
            )

    def test_dropped_connection(self):
        self.emulator.mode = "drop"
        self._send_odd("dropped_connection", contains="Provider closed the connection")

    def test_timeout(self):
        self.emulator.mode = "timeout"
        connector = self.connector_for(self.emulator.url, timeout=self.odd_timeout)
        self._send_odd("timeout", connector, f"Provider did not answer within {self.odd_timeout} s")

    def test_connection_refused(self):
        connector = self.connector_for(closed_port_url())
        self._send_odd("connection_refused", connector, "Provider unreachable: connection refused")

    def test_tls_error(self):
        connector = self.connector_for(self.emulator.url.replace("http://", "https://"))
        self._send_odd("tls_error", connector, "Provider unreachable: TLS/SSL")

    def test_invalid_json(self):
        status, truncated_json = self.success_answer
        self.emulator.answer_next(EmulatorResponse(status, truncated_json, "application/json"))
        excerpt = " ".join(truncated_json.split())
        self._send_odd("invalid_json", contains=f"Unexpected answer from provider (HTTP {status}): {excerpt}")

    def test_empty_body(self):
        status = self.success_answer[0]
        self.emulator.answer_next(EmulatorResponse(status, b""))
        self._send_odd("empty_body", contains=f"Unexpected answer from provider (HTTP {status}): empty body")

    def test_html_page(self):
        page = "<html><body><h1>Maintenance</h1><p>Back soon</p></body></html>"
        status = self.success_answer[0]
        self.emulator.answer_next(EmulatorResponse(status, page, "text/html"))
        results = self._send_odd("html_page", contains=f"Unexpected answer from provider (HTTP {status})")
        for result in results:
            self.assertIn("Maintenance", result.error_message)
            self.assertIn("Back soon", result.error_message)
            self.assertNotIn("<h1>", result.error_message)
            self.assertNotIn("<p>", result.error_message)

    # -- secrets: no credential in any text the connector gives back ----------
    #: the value given to each of the connector's secret credentials in the secret tests: characters that every
    #: encoding (URL path, query, form, JSON, basic auth) writes differently
    secret_value = "Zq8/s3cr@t w0rd+K"

    def _secret_connector(self, root_url=None, **config):
        """A connector on ``root_url`` (default: the emulator) whose secret credentials are ``secret_value``."""
        secrets = {
            name: self.secret_value
            for name in self.connector_class.secret_credentials
            if name in self.connector_class.credential_labels or name in self.config
        }
        self.assertTrue(secrets, "the connector has a secret credential")
        return self.connector_for(root_url or self.emulator.url, **secrets, **config)

    def _secret_forms(self):
        return self._secret_connector().secret_forms()

    def _assert_no_secret(self, text):
        """No form of ``secret_value`` in ``text``."""
        for form in self._secret_forms():
            self.assertNotIn(form, text or "")

    def _assert_secret_free_send(self, connector):
        results = connector.send(self.odd_answer_messages())
        self.assertTrue(results)
        for result in results:
            self.assertFalse(result.ok)
            self._assert_no_secret(result.error_message)
        return results

    def _assert_secret_free_calls(self, connector):
        """Every call of ``connector`` that may fail (send, balance, connection test, lookup) fails without a
        secret in its message."""
        self._assert_secret_free_send(connector)
        calls = [connector.test_connection]
        if self.connector_class.has_balance:
            calls.append(connector.get_balance)
        if self.connector_class.has_lookup:
            calls.append(lambda: connector.lookup(self.odd_answer_messages()))
        for call in calls:
            try:
                call()
            except ProviderError as error:
                self._assert_no_secret(str(error))

    def test_secret_masked_on_tls_error(self):
        # requests' TLS error names the full URL, query string included
        connector = self._secret_connector(self.emulator.url.replace("http://", "https://"))
        for result in self._assert_secret_free_send(connector):
            self.assertIn("TLS/SSL", result.error_message)
        self._assert_secret_free_calls(connector)

    def test_secret_masked_on_refused_connection(self):
        self._assert_secret_free_calls(self._secret_connector(closed_port_url()))

    def test_secret_masked_on_timeout(self):
        self.emulator.mode = "timeout"
        self._assert_secret_free_calls(self._secret_connector(timeout=self.odd_timeout))

    def test_secret_masked_in_echoed_request(self):
        """A provider error page that echoes the request shows the credentials it carried: masked."""
        self.emulator.mode = "echo"
        connector = self._secret_connector()
        results = self._assert_secret_free_send(connector)
        request = self.emulator.received[0]
        carried = " ".join([*request.headers.values(), request.path, str(request.query)])
        carried += request.body.decode("utf-8", "replace")
        self.assertTrue(any(form in carried for form in connector.secret_forms()), "the request carries the secret")
        # where the connector keeps the page's words as far as the secret, they are kept with the secret masked
        excerpt = connector._body_excerpt(
            SimpleNamespace(content=self.emulator.last_echo.encode(), text=self.emulator.last_echo)
        )
        if any(form in excerpt for form in connector.secret_forms()):
            for result in results:
                if "400 Bad Request" in result.error_message:
                    self.assertIn("***", result.error_message)
        self._assert_secret_free_calls(connector)
