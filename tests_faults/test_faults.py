"""Fault-injection suite: real Odoo processes, a Twilio emulator on 127.0.0.1, 10,000 queued SMS.

Scenarios (each on a fresh copy of one prepared database): ``kill -9`` of a dispatch worker in the middle of
dispatch then a restart; the provider answering 500, timing out and dropping connections for a while; two
dispatch workers at once. After each: no number received the same SMS twice, every SMS is sent once or flagged,
the credit ledger equals what the emulator accepted. Run with ``make test-faults``.
"""

import os
import signal
import subprocess
import sys
import threading
import time
import unittest
from collections import Counter

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "sms_gateway", "tests"))
sys.path.insert(0, os.path.join(REPO, ".ci"))

from dbtools import psql  # noqa: E402
from emulators.base import EmulatorResponse  # noqa: E402
from emulators.twilio import TwilioEmulator  # noqa: E402
from odoo_env import addons_path  # noqa: E402

COUNT = int(os.environ.get("SMS_FAULTS_COUNT", "10000"))
ADDONS = addons_path()
PREFIX = f"{os.environ.get('SMS_FAULTS_DB_PREFIX', 'd5_faults')}_{os.getpid()}"
TEMPLATE = f"{PREFIX}_template"
DRIVER = os.path.join(REPO, "tests_faults", "driver.py")


class LateAnswers:
    """An emulator that takes every message but, for its first ``late_left`` send calls, answers only
    after the client's timeout (1 s in the fault databases): the answer is lost, the SMS was taken."""

    late_left = 0

    def handle(self, request):
        late = False
        if request.method == "POST" and request.path.endswith("/Messages.json"):
            with self._lock:
                late, self.late_left = self.late_left > 0, max(self.late_left - 1, 0)
        response = super().handle(request)
        if late:
            time.sleep(1.5)
        return response


class FaultEmulator(LateAnswers, TwilioEmulator):
    """Twilio emulator (its list-messages call answers the connector's ``lookup``) with a gateway-timeout
    mode: the answer comes after the client's timeout, as a 504, without taking the message."""

    def handle(self, request):
        if self.mode == "gateway_timeout":
            time.sleep(1.5)
            return EmulatorResponse(504, "<html>504 Gateway Time-out</html>", "text/html")
        return super().handle(request)


def run(command, **kwargs):
    return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)


class TestDispatchFaults(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        started = time.monotonic()
        subprocess.run(["dropdb", "-h", "127.0.0.1", "--if-exists", TEMPLATE], check=False)
        run(
            [
                sys.executable, "-m", "odoo", "--db_host=127.0.0.1", "-d", TEMPLATE, "--addons-path", ADDONS,
                "-i", "sms_gateway", "--stop-after-init", "--without-demo=all", "--workers", "0",
                "--max-cron-threads", "0", "--http-port", "8075", "--log-level", "warn",
            ]
        )  # fmt: skip
        out = run([sys.executable, os.path.join(REPO, "tests_faults", "setup_db.py"), "--db", TEMPLATE,
                   "--addons-path", ADDONS, "--count", str(COUNT)]).stdout  # fmt: skip
        print(f"\nfault suite: template with {COUNT} queued SMS in {time.monotonic() - started:.0f} s: {out.strip()}")

    @classmethod
    def tearDownClass(cls):
        subprocess.run(["dropdb", "-h", "127.0.0.1", "--if-exists", TEMPLATE], check=False)

    def setUp(self):
        self.db = f"{PREFIX}_{self._testMethodName[5:]}"[:63]
        subprocess.run(["dropdb", "-h", "127.0.0.1", "--if-exists", self.db], check=False)
        run(["createdb", "-h", "127.0.0.1", "-T", TEMPLATE, self.db])
        self.emulator = FaultEmulator().start()
        psql(self.db, "UPDATE sms_gateway_account SET base_url = %s", (self.emulator.url,))
        self.workers = []
        self.started = time.monotonic()

    def tearDown(self):
        for worker in self.workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
        self.emulator.stop()
        subprocess.run(["dropdb", "-h", "127.0.0.1", "--if-exists", self.db], check=False)
        print(f"{self._testMethodName}: {time.monotonic() - self.started:.0f} s")

    # -- helpers ------------------------------------------------------------------------------------------
    def start_worker(self, lookup=True, seconds=240):
        command = [sys.executable, DRIVER, "--db", self.db, "--addons-path", ADDONS, "--seconds", str(seconds)]
        worker = subprocess.Popen(command + (["--lookup"] if lookup else []), stdout=subprocess.DEVNULL)
        self.workers.append(worker)
        return worker

    def wait_accepted(self, count, timeout=120):
        deadline = time.monotonic() + timeout
        while len(self.emulator.messages) < count and time.monotonic() < deadline:
            time.sleep(0.01)

    def wait_all(self, timeout=300):
        for worker in self.workers:
            worker.wait(timeout=timeout)

    def assert_exactly_once(self, allow_flagged=False):
        accepted = dict(self.emulator.messages)  # sid -> form
        per_message = Counter((m["To"], m["Body"]) for m in accepted.values())
        duplicates = [key for key, n in per_message.items() if n > 1]
        self.assertFalse(duplicates, f"{len(duplicates)} SMS received twice, e.g. {duplicates[:3]}")
        states = dict(psql(self.db, "SELECT state, COUNT(*) FROM sms_sms GROUP BY state"))
        self.assertEqual(sum(states.values()), COUNT)
        self.assertFalse(states.get("outgoing") or states.get("process"), f"SMS left unsent: {states}")
        sent = dict(psql(self.db, "SELECT provider_message_id, number FROM sms_sms WHERE state = 'pending'"))
        self.assertEqual(set(sent), set(accepted), "the SMS recorded as sent are exactly those the provider took")
        errors = dict(psql(self.db, "SELECT failure_type, COUNT(*) FROM sms_sms WHERE state = 'error' GROUP BY 1"))
        if allow_flagged:
            self.assertLessEqual(set(errors), {"sms_interrupted"}, errors)
        else:
            self.assertFalse(errors, errors)
        (consumed, reserved, balance) = psql(
            self.db,
            """SELECT -COALESCE(SUM(quantity) FILTER (WHERE move_type = 'consumption'), 0)
                      - COALESCE(SUM(quantity) FILTER (WHERE move_type = 'refund'), 0),
                      COALESCE(SUM(quantity) FILTER (WHERE state = 'reserved'), 0),
                      SUM(quantity)
                 FROM sms_credit_move""",
        )[0]
        self.assertEqual(reserved, 0, "no credit left reserved")
        self.assertEqual(consumed, len(accepted), "the ledger charges exactly what the provider accepted")
        self.assertEqual(balance, 2 * COUNT - len(accepted))
        return states, errors

    # -- scenarios ----------------------------------------------------------------------------------------
    def test_kill9_mid_dispatch_then_restart(self):
        self.emulator.latency = 0.002
        worker = self.start_worker()
        for fraction in (0.25, 0.55):
            self.wait_accepted(int(COUNT * fraction))
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            in_flight = psql(self.db, "SELECT COUNT(*) FROM sms_sms WHERE state = 'process'")[0][0]
            print(f"killed at {len(self.emulator.messages)} accepted, {in_flight} SMS left 'being sent'")
            self.assertGreater(in_flight, 0, "the kill hit the middle of a batch")
            time.sleep(1.2)  # sms_gateway.interrupted_after
            worker = self.start_worker()
        self.wait_all()
        self.assert_exactly_once()

    def test_kill9_without_provider_lookup_flags_interrupted(self):
        self.emulator.latency = 0.002
        worker = self.start_worker(lookup=False)
        self.wait_accepted(COUNT // 3)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        time.sleep(1.2)
        self.start_worker(lookup=False)
        self.wait_all()
        accepted_numbers = {m["To"] for m in self.emulator.messages.values()}
        flagged = {row[0] for row in psql(self.db, "SELECT number FROM sms_sms WHERE failure_type = 'sms_interrupted'")}
        self.assertTrue(flagged, "SMS caught in flight are flagged, not resent")
        # what the provider took among the flagged ones is not charged (unknown to us), nothing is sent twice
        taken_flagged = flagged & accepted_numbers
        accepted = dict(self.emulator.messages)
        for sid in [sid for sid, m in accepted.items() if m["To"] in taken_flagged]:
            del self.emulator.messages[sid]
        self.assert_exactly_once(allow_flagged=True)
        print(f"flagged {len(flagged)} (of which the provider had taken {len(taken_flagged)})")

    def test_provider_500_timeouts_and_drops_for_a_while(self):
        self.emulator.latency = 0.001
        self.start_worker()

        def faults():
            for mode in ("http500", "gateway_timeout", "drop", "http500"):
                self.wait_accepted(len(self.emulator.messages) + COUNT // 8)
                self.emulator.mode = mode
                time.sleep(2.0)
                self.emulator.mode = "ok"

        injector = threading.Thread(target=faults, daemon=True)
        injector.start()
        self.wait_all()
        injector.join(timeout=60)
        self.assert_exactly_once()
        retried = psql(self.db, "SELECT COUNT(*) FROM sms_sms WHERE attempt_count > 1")[0][0]
        print(f"{retried} SMS needed more than one attempt")
        self.assertGreater(retried, 0)

    def test_late_answers_one_per_request(self):
        """Twilio takes the first 300 SMS but answers after our timeout: each is asked about before any
        new attempt, found, recorded as sent; none is sent twice."""
        self.emulator.latency = 0.002
        self.emulator.late_left = 300
        self.start_worker()
        self.wait_all()
        self.assertEqual(self.emulator.late_left, 0, "the late answers happened")
        self.assert_exactly_once()

    def test_two_workers_at_once(self):
        self.emulator.latency = 0.002
        self.start_worker()
        self.start_worker()
        self.wait_all()
        self.assert_exactly_once()
        claims = psql(self.db, "SELECT COUNT(DISTINCT claimed_at) FROM sms_sms")[0][0]
        self.assertGreater(claims, 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
