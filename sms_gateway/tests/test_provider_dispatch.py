import threading
import time

from odoo.tests import BaseCase, tagged

from ..providers.base import (
    FAILURE_ACCOUNT,
    FAILURE_CREDIT,
    FAILURE_NUMBER,
    FAILURE_SERVER,
    FAILURE_UNCERTAIN,
    OutgoingSms,
    ProviderError,
    SendResult,
    SmsProvider,
)
from ..providers.dispatch import (
    ASK,
    FAILOVER,
    FINAL,
    RETRY,
    DispatchRun,
    RateLimiter,
    needs_cooldown,
    next_step,
    retry_delay,
    send_all,
)
from .emulators.base import EmulatorResponse, LoopbackSession, ProviderEmulator


class EchoEmulator(ProviderEmulator):
    """Answers ``{"id": "id-<ref>"}`` and notes when each request arrived."""

    def __init__(self, latency=0.0):
        super().__init__(latency)
        self.arrivals = []

    def handle(self, request):
        with self._lock:
            self.arrivals.append(time.monotonic())
        return EmulatorResponse(200, {"id": "id-" + request.form.get("ref", "")})


class EchoConnector(SmsProvider):
    """A minimal connector (not registered) posting one form per message."""

    code = "test_echo"

    def __init__(self, config, session=None, batch_size=1, fail_refs=()):
        super().__init__(config, session)
        self.batch_size = batch_size
        self.fail_refs = set(fail_refs)
        self.chunks = []
        self._chunks_lock = threading.Lock()

    def send(self, messages):
        with self._chunks_lock:
            self.chunks.append([m.ref for m in messages])
        if self.fail_refs & {m.ref for m in messages}:
            raise RuntimeError("kaboom in connector")
        results = []
        for message in messages:
            response, error = self._request("POST", self._url("/send"), data={"ref": message.ref, "to": message.number})
            if error:
                results.append(SendResult(message.ref, failure_type=FAILURE_SERVER, error_message=error))
            else:
                results.append(SendResult(message.ref, provider_id=response.json()["id"]))
        return results


def _messages(count):
    return [OutgoingSms(f"ref{i}", f"+336{i:08d}", f"Message {i}") for i in range(count)]


@tagged("post_install", "-at_install", "sms_gateway_providers")
class TestProviderDispatch(BaseCase):
    def setUp(self):
        super().setUp()
        self.emulator = EchoEmulator().start()
        self.addCleanup(self.emulator.stop)

    def _connector(self, **kwargs):
        connector = EchoConnector({"base_url": self.emulator.url, "timeout": 5}, session=LoopbackSession(), **kwargs)
        self.addCleanup(connector.close)
        return connector

    def test_concurrency_really_used(self):
        self.emulator.latency = 0.05
        connector = self._connector()
        messages = _messages(100)
        results = send_all(connector, messages, max_concurrency=10)
        self.assertEqual([r.ref for r in results], [m.ref for m in messages])
        self.assertTrue(all(r.ok for r in results), [r for r in results if not r.ok][:3])
        self.assertEqual([r.provider_id for r in results], [f"id-{m.ref}" for m in messages])
        self.assertEqual(len(self.emulator.received), 100)
        self.assertGreaterEqual(self.emulator.max_in_flight, 5)
        self.assertLessEqual(self.emulator.max_in_flight, 10)

    def test_keep_alive_connections_shared(self):
        self.emulator.latency = 0.02
        connector = self._connector()
        results = send_all(connector, _messages(120), max_concurrency=16)
        self.assertEqual(len(results), 120)
        self.assertTrue(all(r.ok for r in results))
        adapter = connector.session.get_adapter(self.emulator.url)
        self.assertEqual(adapter._pool_maxsize, 16)
        pool = adapter.poolmanager.connection_from_url(self.emulator.url)
        # 120 requests over at most 16 connections: keep-alive reused by all threads.
        self.assertLessEqual(pool.num_connections, 16)
        self.assertGreaterEqual(self.emulator.max_in_flight, 8)

    def test_chunks_of_batch_size(self):
        connector = self._connector(batch_size=7)
        messages = _messages(20)
        results = send_all(connector, messages, max_concurrency=3)
        self.assertEqual(sorted(len(c) for c in connector.chunks), [6, 7, 7])
        self.assertEqual(sorted(ref for c in connector.chunks for ref in c), sorted(m.ref for m in messages))
        self.assertEqual([r.ref for r in results], [m.ref for m in messages])
        self.assertTrue(all(r.ok for r in results))

    def test_rate_limit_respected(self):
        connector = self._connector()
        results = send_all(connector, _messages(15), max_concurrency=8, rate_limit=20)
        self.assertTrue(all(r.ok for r in results))
        arrivals = sorted(self.emulator.arrivals)
        self.assertEqual(len(arrivals), 15)
        # Evenly spaced at 1/20 s: 14 gaps take at least 0.7 s (small jitter allowed).
        self.assertGreaterEqual(arrivals[-1] - arrivals[0], 0.6)
        # Never more than 20 requests (+1 for jitter) in any one-second window.
        for i, start in enumerate(arrivals):
            self.assertLessEqual(sum(1 for t in arrivals[i:] if t - start < 1.0), 21)

    def test_without_rate_limit_is_not_paced(self):
        connector = self._connector()
        send_all(connector, _messages(15), max_concurrency=8)
        arrivals = sorted(self.emulator.arrivals)
        self.assertLess(arrivals[-1] - arrivals[0], 0.5)

    def test_rate_limiter_spacing(self):
        limiter = RateLimiter(50)
        stamps = []
        for _i in range(6):
            limiter.acquire()
            stamps.append(time.monotonic())
        self.assertGreaterEqual(stamps[-1] - stamps[0], 5 / 50 * 0.9)
        with self.assertRaises(ValueError):
            RateLimiter(0)

    def test_exception_in_send_fails_its_chunk_only(self):
        connector = self._connector(batch_size=3, fail_refs={"ref4"})
        messages = _messages(9)
        with self.assertLogs("odoo.addons.sms_gateway.providers.dispatch", "WARNING") as logs:
            results = send_all(connector, messages, max_concurrency=4)
        self.assertIn("test_echo raised while sending 3 message(s)", logs.output[0])
        self.assertEqual([r.ref for r in results], [m.ref for m in messages])
        failed = {r.ref: r for r in results if not r.ok}
        self.assertEqual(set(failed), {"ref3", "ref4", "ref5"})
        for result in failed.values():
            self.assertEqual(result.failure_type, FAILURE_SERVER)
            self.assertIn("kaboom in connector", result.error_message)
            self.assertIn("RuntimeError", result.error_message)
        self.assertEqual(len(self.emulator.received), 6)

    def test_provider_error_and_missing_results_mapped(self):
        class Odd(SmsProvider):
            code = "test_odd"
            batch_size = 2

            def send(self, messages):
                refs = [m.ref for m in messages]
                if "ref0" in refs:
                    raise ProviderError("account exploded")
                if "ref2" in refs:
                    return [SendResult("ref2", provider_id="p2"), SendResult("unknown", provider_id="zz")]
                return None  # a buggy connector

        messages = _messages(6)
        with self.assertLogs("odoo.addons.sms_gateway.providers.dispatch", "WARNING"):
            results = send_all(Odd({}), messages, max_concurrency=2)
        self.assertEqual([r.ref for r in results], [m.ref for m in messages])
        self.assertIn("account exploded", results[0].error_message)
        self.assertEqual(results[0].failure_type, FAILURE_SERVER)
        self.assertEqual(results[2].provider_id, "p2")
        self.assertTrue(results[2].ok)
        for index in (1, 3, 4, 5):
            self.assertEqual(results[index].failure_type, FAILURE_SERVER)
            self.assertTrue(results[index].error_message)
        self.assertEqual(send_all(Odd({}), []), [])


@tagged("post_install", "-at_install")
class TestDispatchDecisions(BaseCase):
    """The retry / failover / cool-down policy, a pure function of the failure and the attempts made."""

    def test_next_step(self):
        cases = [
            # failure type, attempt made, max attempts, another account usable -> step
            (FAILURE_SERVER, 1, 4, False, RETRY),
            (FAILURE_SERVER, 3, 4, False, RETRY),
            (FAILURE_SERVER, 4, 4, False, FINAL),  # no attempt past max_attempts
            (FAILURE_SERVER, 1, 4, True, FAILOVER),  # transient: the next account takes it at once
            (FAILURE_ACCOUNT, 1, 4, True, FAILOVER),
            (FAILURE_CREDIT, 1, 4, True, FAILOVER),
            (FAILURE_ACCOUNT, 1, 4, False, FINAL),  # an account refusal is not retried on the same account
            (FAILURE_CREDIT, 1, 4, False, FINAL),
            (FAILURE_NUMBER, 1, 4, True, FINAL),  # a wrong number is wrong on every account
            ("sms_interrupted", 1, 4, True, FINAL),
            (FAILURE_SERVER, 1, 1, True, FINAL),
        ]
        for failure_type, attempts, max_attempts, can_fail_over, expected in cases:
            with self.subTest(failure_type=failure_type, attempts=attempts, can_fail_over=can_fail_over):
                self.assertEqual(next_step(failure_type, attempts, max_attempts, can_fail_over), expected)

    def test_next_step_when_the_answer_was_lost(self):
        # the request may have reached the provider: never retried blindly, never handed to another account
        self.assertEqual(next_step(FAILURE_UNCERTAIN, 1, 4, True, can_ask=True), ASK)
        self.assertEqual(next_step(FAILURE_UNCERTAIN, 1, 4, True, can_ask=False), FINAL)
        self.assertEqual(next_step(FAILURE_UNCERTAIN, 4, 4, True, can_ask=True), FINAL)

    def test_retry_delay_doubles(self):
        self.assertEqual([retry_delay(60, attempt) for attempt in (1, 2, 3, 4)], [60, 120, 240, 480])
        self.assertEqual(retry_delay(60, 2, jitter=0.75), 90)
        self.assertEqual(retry_delay(60, 0), 60, "a first try that never counted waits the base delay")

    def test_needs_cooldown(self):
        self.assertTrue(needs_cooldown({FAILURE_ACCOUNT}, all_failed=False), "credentials refused")
        self.assertTrue(needs_cooldown({FAILURE_CREDIT, FAILURE_NUMBER}, all_failed=False), "provider credit")
        self.assertTrue(needs_cooldown({FAILURE_SERVER}, all_failed=True), "the whole call failed: server down")
        self.assertFalse(needs_cooldown({FAILURE_SERVER}, all_failed=False), "one SMS of many: not the server")
        self.assertFalse(needs_cooldown({FAILURE_NUMBER}, all_failed=True), "wrong numbers say nothing of it")
        self.assertFalse(needs_cooldown(set(), all_failed=True))
        self.assertTrue(needs_cooldown({FAILURE_UNCERTAIN}, all_failed=True), "no answer to anything")
        self.assertFalse(needs_cooldown({FAILURE_UNCERTAIN}, all_failed=False))


@tagged("post_install", "-at_install")
class TestDispatchRun(BaseCase):
    """A dispatch run builds one connector and one thread pool per account, and closes them on exit."""

    def test_one_connector_per_account_closed_on_exit(self):
        built, closed = [], []

        class Connector(EchoConnector):
            def close(self):
                closed.append(self)
                super().close()

        def factory():
            connector = Connector({"base_url": "http://127.0.0.1:9"})
            built.append(connector)
            return connector

        with DispatchRun() as run:
            first = run.connector(1, factory, max_concurrency=4)
            self.assertIs(run.connector(1, factory), first, "one connector per account and run")
            run.connector(2, factory)
            self.assertEqual(set(run.connectors), {1, 2})
            self.assertEqual(closed, [])
        self.assertEqual(len(built), 2)
        self.assertCountEqual(closed, built, "every connector closed when the run ends")
        self.assertEqual(run.connectors, {})

    def test_closed_even_when_the_run_fails(self):
        closed = []

        class Connector(EchoConnector):
            def close(self):
                closed.append(self)

        with self.assertRaises(RuntimeError), DispatchRun() as run:
            run.connector(1, lambda: Connector({}))
            raise RuntimeError("the run died")
        self.assertEqual(len(closed), 1)

    def test_commit_only_when_the_run_commits(self):
        class Cursor:
            commits = 0

            def commit(self):
                self.commits += 1

        cr = Cursor()
        DispatchRun(auto_commit=False).commit(cr)
        self.assertEqual(cr.commits, 0, "a run inside its caller's transaction never commits it")
        DispatchRun(auto_commit=True).commit(cr)
        self.assertEqual(cr.commits, 1)

    def test_send_uses_the_run_thread_pool(self):
        emulator = EchoEmulator(latency=0.05)
        emulator.start()
        self.addCleanup(emulator.stop)
        with DispatchRun() as run:
            run.connector(1, lambda: EchoConnector({"base_url": emulator.url}, session=LoopbackSession()), 8)
            messages = [OutgoingSms(f"r{i}", "+33612345678", "Hi") for i in range(16)]
            started = time.monotonic()
            results = run.send(1, messages, max_concurrency=8)
            elapsed = time.monotonic() - started
        self.assertEqual([r.provider_id for r in results], [f"id-r{i}" for i in range(16)])
        self.assertLess(elapsed, 16 * 0.05 / 2, "messages sent in parallel, not one after the other")
