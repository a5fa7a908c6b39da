"""The base of the connector tests: :class:`ProviderTestCase`.

A connector test class names its connector, its emulator and the settings under test; the base starts the
emulator once for the class, resets it before each test, builds the connectors on a loopback session and
checks that the connector copes with the odd answers every provider may give.
"""

import socket

from odoo.tests import BaseCase

from ..providers.base import FAILURE_SERVER, OutgoingSms
from .emulators.base import EmulatorResponse, LoopbackSession


def closed_port_url():
    """The URL of a loopback port nobody listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


class ProviderTestCase(BaseCase):
    """One connector against its emulator.

    ``self.emulator`` is started once for the class and reset (``reset()``, ``reset_state()``) before each
    test; ``self.provider`` is a connector on it built by :meth:`_provider` with the class's ``config``.

    The odd-answer tests below (server errors, dropped connections, timeouts, refused connections, TLS
    errors, invalid JSON, empty bodies and HTML pages) run for every connector: each must end as a failed
    send, never as a crash or a success.
    """

    # Odoo's test loader only runs test methods defined on the class itself unless this is set
    allow_inherited_tests_method = True

    #: the connector class under test
    connector_class = None
    #: the emulator class, and the arguments it is built with (the credentials it accepts...)
    emulator_class = None
    emulator_args = ()
    #: the connector's settings in every test (besides ``base_url`` and ``timeout``)
    config = {}
    #: the path of the provider's API below the emulator's root URL
    api_path = ""
    #: the recipients of :meth:`_messages` (formatted with the message's index)
    numbers = "+33612345{:03d}"
    #: HTTP status of the provider's successful send answer (the odd bodies come with it)
    success_status = 200
    #: what the error message says when the provider answers HTTP 500 with an HTML page
    http_500_message = "Provider answered HTTP 500"
    #: a cut-off JSON answer to the send call (as the provider's own answer would start)
    truncated_json = '{"status": '
    #: the timeout (seconds) configured for the timeout case; the emulator hangs longer
    odd_timeout = 0.3

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.emulator = cls.emulator_class(*cls.emulator_args).start()
        cls.addClassCleanup(cls.emulator.stop)

    def setUp(self):
        super().setUp()
        self.emulator.reset()
        self.emulator.reset_state()
        self.emulator.hang_seconds = 1.0
        self.provider = self.connector_for(self.emulator.url)

    # -- connectors -----------------------------------------------------------
    def _provider(self, **config):
        """A connector on the emulator, with ``config`` over the class's settings."""
        session = LoopbackSession()
        self.addCleanup(session.close)
        values = {"base_url": self.emulator.url + self.api_path, "timeout": 2, **self.config, **config}
        return self.connector_class(values, session=session)

    def connector_for(self, root_url, **config):
        """The connector under test, talking to the server at ``root_url`` (scheme, host, port)."""
        return self._provider(base_url=root_url + self.api_path, **config)

    # -- helpers --------------------------------------------------------------
    def _messages(self, count=1, body="Hello", unicode=False, prefix="ref", number=None):
        """``count`` messages ``<prefix>0``... to ``number`` (default ``numbers``) formatted with their index."""
        number = number or self.numbers
        return [OutgoingSms(f"{prefix}{i}", number.format(i), body, unicode=unicode) for i in range(count)]

    def _send(self, number="+33612345678", body="Hello", provider=None, **kwargs):
        """Send one message ``ref1`` through ``provider`` (default ``self.provider``)."""
        return (provider or self.provider).send([OutgoingSms("ref1", number, body, **kwargs)])

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

    # -- the odd answers ------------------------------------------------------
    def odd_answer_messages(self):
        """What the odd-answer cases send (every message of it must fail)."""
        return [OutgoingSms("ref1", "+33612345678", "Hello")]

    def expected_failure_type(self, odd_answer):
        """The failure type expected for ``odd_answer`` (the test name without ``test_``)."""
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
        self._send_odd("http_500", contains=self.http_500_message)

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
        self.emulator.answer_next(EmulatorResponse(self.success_status, self.truncated_json, "application/json"))
        excerpt = " ".join(self.truncated_json.split())
        self._send_odd(
            "invalid_json", contains=f"Unexpected answer from provider (HTTP {self.success_status}): {excerpt}"
        )

    def test_empty_body(self):
        self.emulator.answer_next(EmulatorResponse(self.success_status, b""))
        self._send_odd(
            "empty_body", contains=f"Unexpected answer from provider (HTTP {self.success_status}): empty body"
        )

    def test_html_page(self):
        page = "<html><body><h1>Maintenance</h1><p>Back soon</p></body></html>"
        self.emulator.answer_next(EmulatorResponse(self.success_status, page, "text/html"))
        results = self._send_odd("html_page", contains=f"Unexpected answer from provider (HTTP {self.success_status})")
        for result in results:
            self.assertIn("Maintenance", result.error_message)
            self.assertIn("Back soon", result.error_message)
            self.assertNotIn("<h1>", result.error_message)
            self.assertNotIn("<p>", result.error_message)
