"""Dispatch throughput with one and with two worker processes.

20,000 queued SMS (``--count``) go through the Twilio emulator (one HTTP request per SMS) that adds
``--latency`` seconds (50 ms) to every answer, first with one dispatch worker, then with two (each a process
running ``sms.sms._process_queue()`` in a loop, ``tests_faults/driver.py``), then the same without added
latency. Prints SMS/s, the 2-worker / 1-worker ratio (target >= 1.7 with latency: the second worker must not
wait on the first's locks) and the lock waits sampled from ``pg_stat_activity`` / ``pg_locks`` during each run.

    python3 bench/bench_workers.py [--count 20000] [--latency 0.05] [--concurrency 8]
"""

import argparse
import os
import subprocess
import sys
import threading
import time

import psycopg2

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "sms_gateway", "tests"))
sys.path.insert(0, os.path.join(REPO, ".ci"))

from emulators.twilio import TwilioEmulator  # noqa: E402
from odoo_env import addons_path  # noqa: E402

ADDONS = addons_path()
PREFIX = f"d5_bench_{os.getpid()}"


def psql(db, query, args=()):
    conn = psycopg2.connect(dbname=db, host="127.0.0.1")
    conn.autocommit = True
    with conn.cursor() as cr:
        cr.execute(query, args)
        rows = cr.fetchall() if cr.description else None
    conn.close()
    return rows


class LockSampler(threading.Thread):
    """Every 50 ms: backends of ``db`` waiting on a lock, and lock requests not granted."""

    def __init__(self, db):
        super().__init__(daemon=True)
        self.db, self.stop, self.samples, self.lock_waits, self.not_granted = db, False, 0, 0, 0
        self.events = {}

    def run(self):
        conn = psycopg2.connect(dbname="postgres", host="127.0.0.1")
        conn.autocommit = True
        with conn.cursor() as cr:
            while not self.stop:
                cr.execute(
                    """SELECT wait_event_type, wait_event FROM pg_stat_activity
                        WHERE datname = %s AND wait_event_type = 'Lock'""",
                    (self.db,),
                )
                rows = cr.fetchall()
                self.lock_waits += len(rows)
                for row in rows:
                    self.events[row] = self.events.get(row, 0) + 1
                cr.execute(
                    "SELECT COUNT(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                    "WHERE d.datname = %s AND NOT l.granted",
                    (self.db,),
                )
                self.not_granted += cr.fetchone()[0]
                self.samples += 1
                time.sleep(0.05)
        conn.close()


def run_case(template, workers, latency, count):
    db = f"{PREFIX}_{workers}w_{int(latency * 1000)}ms"
    subprocess.run(["dropdb", "-h", "127.0.0.1", "--if-exists", db], check=False)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-T", template, db], check=True)
    emulator = TwilioEmulator(latency=latency).start()
    try:
        psql(db, "UPDATE sms_gateway_account SET base_url = %s", (emulator.url,))
        sampler = LockSampler(db)
        command = [sys.executable, os.path.join(REPO, "tests_faults", "driver.py"), "--db", db, "--addons-path"]
        procs = [subprocess.Popen([*command, ADDONS, "--seconds", "1800"]) for _ in range(workers)]
        # the clock starts at the first request (the registry takes a few seconds to load)
        while not emulator.received and all(p.poll() is None for p in procs):
            time.sleep(0.005)
        started = time.monotonic()
        sampler.start()
        for proc in procs:
            proc.wait()
        elapsed = time.monotonic() - started
        sampler.stop = True
        sampler.join()
        sent = psql(db, "SELECT COUNT(*) FROM sms_sms WHERE state = 'pending'")[0][0]
        assert sent == count == len(emulator.messages), (sent, count, len(emulator.messages))
        return {
            "rate": sent / elapsed,
            "elapsed": elapsed,
            "lock_waits": sampler.lock_waits,
            "not_granted": sampler.not_granted,
            "samples": sampler.samples,
            "events": sampler.events,
        }
    finally:
        emulator.stop()
        subprocess.run(["dropdb", "-h", "127.0.0.1", "--if-exists", db], check=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=8, help="parallel requests per worker (account)")
    args = parser.parse_args()
    template = f"{PREFIX}_template"
    subprocess.run(["dropdb", "-h", "127.0.0.1", "--if-exists", template], check=False)
    try:
        subprocess.run(
            [sys.executable, "-m", "odoo", "--db_host=127.0.0.1", "-d", template, "--addons-path", ADDONS,
             "-i", "sms_gateway", "--stop-after-init", "--without-demo=all", "--workers", "0",
             "--max-cron-threads", "0", "--http-port", "8076", "--log-level", "warn"],
            check=True,
        )  # fmt: skip
        subprocess.run(
            [sys.executable, os.path.join(REPO, "tests_faults", "setup_db.py"), "--db", template,
             "--addons-path", ADDONS, "--count", str(args.count), "--concurrency", str(args.concurrency)],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        print(
            f"{args.count} SMS, Twilio emulator (one request per SMS), {args.concurrency} requests in flight per worker"
        )
        for latency in (args.latency, 0.0):
            results = {workers: run_case(template, workers, latency, args.count) for workers in (1, 2)}
            for workers, r in results.items():
                print(
                    f"latency {latency * 1000:.0f} ms, {workers} worker(s): {r['rate']:7.0f} SMS/s "
                    f"({r['elapsed']:.1f} s); lock waits: {r['lock_waits']} backend-samples waiting on a lock, "
                    f"{r['not_granted']} ungranted lock requests over {r['samples']} samples {r['events'] or ''}"
                )
            ratio = results[2]["rate"] / results[1]["rate"]
            target = " (target >= 1.7)" if latency else " (no target)"
            print(f"latency {latency * 1000:.0f} ms: 2 workers / 1 worker = {ratio:.2f}x{target}")
    finally:
        subprocess.run(["dropdb", "-h", "127.0.0.1", "--if-exists", template], check=False)


if __name__ == "__main__":
    main()
