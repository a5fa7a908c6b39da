"""Dispatch throughput with one, two and four worker processes on one PostgreSQL database.

20,000 queued SMS (``--count``) go through the Twilio emulator (one HTTP request per SMS) that adds
``--latency`` seconds (50 ms) to every answer, with 1, 2 and 4 dispatch workers (``--workers``; each a process
running ``sms.sms._process_queue()`` in a loop, ``tests_faults/driver.py``, as an Odoo server's queue cron
thread does), then the same without added latency. Each run starts from a copy of one template database.
Prints SMS/s, the N-worker / 1-worker ratio (target >= 1.7 for 2 workers with latency: the second worker must
not wait on the first's locks), the CPU the worker processes used (share of the machine's cores: four workers
on a 2-core machine share two cores with the emulator and PostgreSQL, the figure is printed anyway) and the
lock waits.

Lock waits, how they are measured: PostgreSQL keeps no cumulative lock-wait time, and ``log_lock_waits`` only
reports waits longer than ``deadlock_timeout`` (1 s), so a sampler thread polls, every 50 ms during the run,
``pg_stat_activity`` for the backends of the database whose ``wait_event_type`` is ``Lock`` (a row lock:
``transactionid``/``tuple``, an advisory lock: ``advisory``, a table lock: ``relation``) and ``pg_locks`` for the
lock requests not granted. "Waiting" is the number of backend-samples found waiting times the measured
sampling interval: an estimate, in backend-seconds, of the time spent waiting on locks (a wait shorter than the
interval may be missed, one caught is counted for a whole interval), beside the workers' total run time. The
queue's claims use ``FOR UPDATE SKIP LOCKED``, which skips locked rows instead of waiting: they never show here.

    python3 bench/bench_workers.py [--count 20000] [--latency 0.05] [--concurrency 8] [--workers 1 2 4]
"""

import argparse
import os
import resource
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


def process_cpu(pid):
    """CPU seconds (user + system) a running process used so far (Linux ``/proc/<pid>/stat``)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class LockSampler(threading.Thread):
    """Every 50 ms: backends of ``db`` waiting on a lock, and lock requests not granted."""

    def __init__(self, db):
        super().__init__(daemon=True)
        self.db, self.stop, self.samples, self.lock_waits, self.not_granted = db, False, 0, 0, 0
        self.events, self.interval = {}, 0.05

    def run(self):
        conn = psycopg2.connect(dbname="postgres", host="127.0.0.1")
        conn.autocommit = True
        started = time.monotonic()
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
        if self.samples:
            self.interval = (time.monotonic() - started) / self.samples
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
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        procs = [subprocess.Popen([*command, ADDONS, "--seconds", "1800"]) for _ in range(workers)]
        # the clock starts at the first request (the registry takes a few seconds to load)
        while not emulator.received and all(p.poll() is None for p in procs):
            time.sleep(0.005)
        started = time.monotonic()
        loading_cpu = sum(process_cpu(p.pid) for p in procs)  # registry loading: before the clock
        sampler.start()
        for proc in procs:
            proc.wait()
        elapsed = time.monotonic() - started
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        # CPU of the worker processes while the clock ran
        cpu = sum(getattr(cpu_after, f) - getattr(cpu_before, f) for f in ("ru_utime", "ru_stime")) - loading_cpu
        sampler.stop = True
        sampler.join()
        sent = psql(db, "SELECT COUNT(*) FROM sms_sms WHERE state = 'pending'")[0][0]
        assert sent == count == len(emulator.messages), (sent, count, len(emulator.messages))
        return {
            "rate": sent / elapsed,
            "elapsed": elapsed,
            "waited": sampler.lock_waits * sampler.interval,
            "cpu": cpu,
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
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4], help="worker counts (1 first)")
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
        workers_list = sorted(set(args.workers) | {1})
        summary = []
        for latency in (args.latency, 0.0):
            results = {}
            for workers in workers_list:
                cores = len(os.sched_getaffinity(0))
                r = results[workers] = run_case(template, workers, latency, args.count)
                events = ", ".join(f"{t}/{e}: {n}" for (t, e), n in sorted(r["events"].items())) or "none"
                print(
                    f"latency {latency * 1000:.0f} ms, {workers} worker(s): {r['rate']:6.0f} SMS/s "
                    f"({r['elapsed']:.1f} s), x{r['rate'] / results[1]['rate']:.2f} of 1 worker; workers' CPU "
                    f"{r['cpu']:.0f} s ({r['cpu'] / r['elapsed'] / cores:.0%} of {cores} cores); lock waits: "
                    f"~{r['waited']:.2f} backend-s waiting of {workers * r['elapsed']:.0f} worker-s "
                    f"({r['lock_waits']} backend-samples waiting, {r['not_granted']} ungranted requests, "
                    f"{r['samples']} samples; by wait event: {events})",
                    flush=True,
                )
            for workers, r in results.items():
                ratio = r["rate"] / results[1]["rate"]
                target = " (target >= 1.7)" if latency and workers == 2 else ""
                cores = len(os.sched_getaffinity(0))
                cpu = f" (more workers than the {cores} cores)" if workers > cores else ""
                summary.append(
                    f"latency {latency * 1000:3.0f} ms  {workers} worker(s)  {r['rate']:6.0f} SMS/s  "
                    f"x{ratio:.2f}{target}{cpu}  workers' CPU {r['cpu'] / r['elapsed'] / cores:.0%} of the cores  "
                    f"lock waits ~{r['waited']:.2f} backend-s"
                )
        print("\nSummary")
        print("\n".join(summary))
    finally:
        subprocess.run(["dropdb", "-h", "127.0.0.1", "--if-exists", template], check=False)


if __name__ == "__main__":
    main()
