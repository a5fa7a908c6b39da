"""Fault-injection suite: real Odoo processes, a Twilio emulator on 127.0.0.1, 10,000 queued SMS.

Scenarios (each on a fresh copy of one prepared database): ``kill -9`` of a dispatch worker in the middle of
dispatch then a restart; the provider answering 500, timing out and dropping connections for a while; the
provider taking SMS but answering after our timeout, one per request (Twilio) and in batches (ASPSMS, the
account switched to it); two dispatch workers at once. After each: no number received the same SMS twice, every SMS is sent once or flagged,
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
from emulators.aspsms import AspsmsEmulator  # noqa: E402
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

    def is_send(self, request):
        raise NotImplementedError

    def handle(self, request):
        late = False
        if self.is_send(request):
            with self._lock:
                late, self.late_left = self.late_left > 0, max(self.late_left - 1, 0)
        response = super().handle(request)
        if late:
            time.sleep(1.5)
        return response


class FaultEmulator(LateAnswers, TwilioEmulator):
    """Twilio emulator (its list-messages call answers the connector's ``lookup``) with a gateway-timeout
    mode: the answer comes after the client's timeout, as a 504, without taking the message."""

    def is_send(self, request):
        return request.method == "POST" and request.path.endswith("/Messages.json")

    def taken(self):
        """``[(provider id, number, body)]`` of every message the provider took, repeats included."""
        return [(sid, m["To"], m["Body"]) for sid, m in list(self.messages.items())]

    def handle(self, request):
        if self.mode == "gateway_timeout":
            time.sleep(1.5)
            return EmulatorResponse(504, "<html>504 Gateway Time-out</html>", "text/html")
        return super().handle(request)


class FaultAspsmsEmulator(LateAnswers, AspsmsEmulator):
    """ASPSMS emulator (a batch provider: one call carries up to 1000 recipients; its
    InquireDeliveryNotifications answers the connector's ``lookup``) that keeps every recipient it took, in
    order: a message taken twice under the same reference would otherwise be one entry of ``messages``."""

    def __init__(self):
        super().__init__(userkey="FAULTSUITEKEY", password="fault-suite-password")
        self.log = []

    def is_send(self, request):
        return request.method == "POST" and request.path.rstrip("/").endswith(("SendTextSMS", "SendSimpleTextSMS"))

    def _send(self, data):
        response = super()._send(data)
        if response.body.get("StatusCode") == "1":
            with self._state_lock:
                for recipient in data["Recipients"]:
                    number, _sep, ref = str(recipient).partition(":")
                    self.log.append((ref, number, data["MessageText"]))
        return response

    def taken(self):
        with self._state_lock:
            return list(self.log)


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
        if self._testMethodName.endswith("_batch_provider"):
            self.emulator = FaultAspsmsEmulator().start()
            psql(
                self.db,
                "UPDATE sms_gateway_account SET provider = 'aspsms', name = 'ASPSMS (emulator)', base_url = %s,"
                " username = %s, password = %s",
                (self.emulator.url, self.emulator.userkey, self.emulator.password),
            )
            # one text for all: ASPSMS carries one text per call, so the calls carry 100 recipients each
            psql(self.db, "UPDATE sms_sms SET body = 'Fault suite message for everyone'")
        else:
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
        while len(self.emulator.taken()) < count and time.monotonic() < deadline:
            time.sleep(0.01)

    def wait_all(self, timeout=300):
        for worker in self.workers:
            worker.wait(timeout=timeout)

    def assert_exactly_once(self, allow_flagged=False):
        taken = self.emulator.taken()
        accepted = {provider_id: number for provider_id, number, _body in taken}
        per_message = Counter((number, body) for _id, number, body in taken)
        duplicates = [key for key, n in per_message.items() if n > 1]
        self.assertEqual(len(duplicates), 0, f"{len(duplicates)} SMS received twice, e.g. {duplicates[:3]}")
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
        self.assertEqual(consumed, len(taken), "the ledger charges exactly what the provider accepted")
        self.assertEqual(balance, 2 * COUNT - len(taken))
        return states, errors

    # -- scenarios ----------------------------------------------------------------------------------------
    def test_kill9_mid_dispatch_then_restart(self):
        self.emulator.latency = 0.005
        worker = self.start_worker()
        for fraction in (0.25, 0.55):
            self.wait_accepted(int(COUNT * fraction))
            # the kill must hit a batch in flight, not the moment between two batches (results committed,
            # next claim not yet): wait for claimed rows, then kill at once
            deadline = time.monotonic() + 10
            while not psql(self.db, "SELECT COUNT(*) FROM sms_sms WHERE state = 'process'")[0][0]:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.002)
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

    def test_late_answers_batch_provider(self):
        """ASPSMS takes the first 5 calls (100 SMS each) but answers after our timeout: the 500 SMS are asked
        about (InquireDeliveryNotifications) before any new attempt, found, recorded as sent; none twice."""
        self.emulator.late_left = 5
        self.start_worker()
        self.wait_all()
        self.assertEqual(self.emulator.late_left, 0, "the late answers happened")
        states, _errors = self.assert_exactly_once()
        asked = psql(self.db, "SELECT COUNT(*) FROM sms_sms WHERE attempt_count > 1")[0][0]
        print(f"{asked} SMS whose answer was lost were asked about, {states.get('pending', 0)} sent in all")
        self.assertGreaterEqual(asked, 500)

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
