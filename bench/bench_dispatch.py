"""Dispatch throughput of sms_gateway on one Odoo worker, against the local provider emulators.

For each scenario: 10,000 SMS are queued with ``sms.sms`` create in a scratch database, then one
``_process_queue()`` run (what the queue cron does, committing per batch) sends them through an account whose
``base_url`` is the emulator's. The ceiling beside each figure is a bare client loop with the same connector,
the same concurrency and the same emulator, without Odoo: the ratio says what Odoo itself costs.

The emulators run in a child process so that they do not share the interpreter lock with the worker measured.

Targets (issue 10): batch providers (ASPSMS, OVH) >= 10,000 SMS/s and >= 12% of their ceiling; one SMS per
request (Twilio) >= 80% of its ceiling; queueing the benchmark's SMS with ``sms.sms`` create >= 10,000 rows/s.
Each figure is printed beside its target with a verdict.

Usage: ``python3 bench/bench_dispatch.py [--count 10000] [--db NAME] [--scenario aspsms ...] [--profile [FILE]]``
(``make bench``). ``--profile`` profiles the dispatch runs only (not the queueing) and prints the functions
that cost most (cumulative time); with FILE the cProfile stats are also written there.
The database is created (``odoo -i sms_gateway``) and dropped by the script.
"""

import argparse
import importlib
import importlib.util
import multiprocessing
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, ".ci"))
import odoo_env  # noqa: E402  # the one addons-path helper

EMULATORS = os.path.join(REPO, "sms_gateway", "tests", "emulators")
BODY = "Rappel : votre rendez-vous est demain à 9h30. Répondez STOP pour ne plus recevoir de SMS."

# name -> (provider, emulator module, emulator class, emulator kwargs, account credentials, latency,
#          (target SMS/s or None, target ratio to the ceiling or None))
SCENARIOS = {
    "aspsms": (
        "aspsms",
        "aspsms",
        "AspsmsEmulator",
        {},
        {"username": "ASPSMSUSERKEY", "password": "secret", "sender": "BENCH"},
        0.0,
        (10000, 0.12),
    ),
    "ovh": (
        "ovh",
        "ovh",
        "OvhEmulator",
        {},
        {"service_id": "sms-ab12345-1", "username": "odoo", "password": "s3cret", "sender": "BENCH"},
        0.0,
        (10000, 0.12),
    ),
    "twilio": (
        "twilio",
        "twilio",
        "TwilioEmulator",
        {},
        {"username": "AC" + "0" * 31 + "1", "password": "twilio-token", "sender": "+15005550006"},
        0.0,
        (None, 0.80),
    ),
    "twilio_50ms": (
        "twilio",
        "twilio",
        "TwilioEmulator",
        {},
        {"username": "AC" + "0" * 31 + "1", "password": "twilio-token", "sender": "+15005550006"},
        0.05,
        (None, 0.80),
    ),
}
DEFAULT_SCENARIOS = ("aspsms", "ovh", "twilio", "twilio_50ms")
ROWS_TARGET = 10000  # sms.sms rows created per second when the benchmark's SMS are queued
BATCH_PROVIDER_RATE = 1000  # a scenario whose rate target reaches this sends through a batch provider
BASE_PATH = {"brevo": "/v3"}


def _load_emulators():
    """The emulators as a package of their own: importing ``sms_gateway.tests`` would import the tests."""
    if "bench_emulators" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "bench_emulators", os.path.join(EMULATORS, "__init__.py"), submodule_search_locations=[EMULATORS]
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules["bench_emulators"] = module
        spec.loader.exec_module(module)
    return sys.modules["bench_emulators"]


def _serve_emulator(module_name, class_name, kwargs, latency, conn):
    """Child process: run one emulator until told to stop."""
    _load_emulators()
    emulator_class = getattr(importlib.import_module(f"bench_emulators.{module_name}"), class_name)
    emulator = emulator_class(latency=latency, **kwargs)
    emulator.start()
    # the emulator sets request_queue_size after listen(): give the socket a backlog for many connections
    emulator._server.socket.listen(1024)
    conn.send(emulator.url)
    conn.recv()  # stop
    emulator.stop()


class EmulatorProcess:
    def __init__(self, module_name, class_name, kwargs, latency):
        context = multiprocessing.get_context("fork")
        self.conn, child_conn = context.Pipe()
        self.process = context.Process(
            target=_serve_emulator, args=(module_name, class_name, kwargs, latency, child_conn), daemon=True
        )

    def __enter__(self):
        self.process.start()
        self.url = self.conn.recv()
        return self

    def __exit__(self, *exc):
        self.conn.send("stop")
        self.process.join(10)


def numbers(count):
    """Distinct valid French mobile numbers."""
    return [f"+3361{i:07d}" for i in range(count)]


def ceiling(provider, url, credentials, count, concurrency):
    """SMS/s of a bare client loop: the connector and ``send_all`` alone, same concurrency, no Odoo."""
    from odoo.addons.sms_gateway.providers.base import PROVIDERS, OutgoingSms
    from odoo.addons.sms_gateway.providers.dispatch import send_all

    connector = PROVIDERS[provider]({"base_url": url + BASE_PATH.get(provider, ""), "timeout": 30, **credentials})
    messages = [OutgoingSms(ref=f"ceil{i}", number=n, body=BODY) for i, n in enumerate(numbers(count))]
    started = time.perf_counter()
    results = send_all(connector, messages, max_concurrency=concurrency)
    elapsed = time.perf_counter() - started
    connector.close()
    failed = sum(1 for r in results if not r.ok)
    if failed:
        print(f"  ceiling: {failed} failures, e.g. {next(r for r in results if not r.ok)}")
    return count / elapsed


def profile_sql(profiler):
    """Time every SQL statement run while ``profiler`` is enabled, by the start of its text: where the
    database's share of a dispatch run goes (cProfile only shows ``execute``)."""
    import re

    from odoo import sql_db

    times = {}
    execute = sql_db.Cursor.execute

    def timed_execute(self, query, params=None, log_exceptions=True):
        started = time.perf_counter()
        try:
            return execute(self, query, params, log_exceptions)
        finally:
            if sys.getprofile() is not None:  # the profiler is on: a dispatch run
                text = re.sub(r"\s+", " ", str(getattr(query, "code", query)))[:90]
                calls, seconds = times.get(text, (0, 0.0))
                times[text] = (calls + 1, seconds + time.perf_counter() - started)

    sql_db.Cursor.execute = timed_execute
    return times


def odoo_run(registry, provider, url, credentials, count, concurrency, batch_size=None, profiler=None):
    """Queue ``count`` SMS, time one ``_process_queue`` run (profiled with ``profiler`` when given); return
    (SMS/s, states, seconds spent queueing)."""
    from odoo import api

    with registry.cursor() as cr:
        env = api.Environment(cr, 1, {})
        if batch_size:
            env["ir.config_parameter"].set_param("sms_gateway.batch_size", batch_size)
        company = env.ref("base.main_company")
        company.country_id = env.ref("base.fr")
        env["sms.gateway.account"].search([]).active = False
        env["sms.sms"].search([]).unlink()
        env["sms.gateway.account"].create(
            {
                "name": f"bench {provider}",
                "provider": provider,
                "company_id": company.id,
                "base_url": url + BASE_PATH.get(provider, ""),
                "timeout": 30,
                "max_concurrency": concurrency,
                # the emulator's balance is arbitrary: no "provider balance differs" alert in the runs measured
                "balance_gap_percent": 100000,
                **credentials,
            }
        )
        env["sms.credit.move"].create({"company_id": company.id, "move_type": "topup", "quantity": count})
        queued_at = time.perf_counter()
        env["sms.sms"].create([{"number": n, "body": BODY, "company_id": company.id} for n in numbers(count)])
        queue_time = time.perf_counter() - queued_at
    with registry.cursor() as cr:
        env = api.Environment(cr, 1, {})
        if profiler:
            profiler.enable()
        started = time.perf_counter()
        env["sms.sms"]._process_queue()
        elapsed = time.perf_counter() - started
        if profiler:
            profiler.disable()
        cr.commit()
        cr.execute("SELECT state, count(*) FROM sms_sms GROUP BY state")
        states = dict(cr.fetchall())
        cr.execute("SELECT error_message, count(*) FROM sms_sms WHERE error_message IS NOT NULL GROUP BY 1 LIMIT 3")
        for message, number in cr.fetchall():
            print(f"  {number} SMS with error: {message}")
    return count / elapsed, states, queue_time


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--db", default=f"sms_gateway_bench_{os.getpid()}")
    parser.add_argument(
        "--concurrency", type=int, help="max_concurrency of the account (default: 16 for batch providers, 32 else)"
    )
    parser.add_argument("--batch-size", type=int, help="sms_gateway.batch_size (default: the module's)")
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS))
    parser.add_argument("--db-host", default="127.0.0.1")
    parser.add_argument(
        "--profile",
        nargs="?",
        const="",
        metavar="FILE",
        help="profile the dispatch runs (cProfile): print the top functions, and write the stats to FILE if given",
    )
    parser.add_argument("--profile-lines", type=int, default=40, help="functions printed by --profile")
    args = parser.parse_args()
    scenarios = args.scenario or DEFAULT_SCENARIOS

    import odoo
    from odoo.tools import config

    addons_path = odoo_env.addons_path()
    subprocess.run(["dropdb", "--if-exists", "-h", args.db_host, args.db], check=False)
    print(f"Creating {args.db} (odoo -i sms_gateway)...", flush=True)
    install = [
        sys.executable,
        "-m",
        "odoo",
        "-d",
        args.db,
        f"--db_host={args.db_host}",
        "--addons-path",
        addons_path,
        "-i",
        "sms_gateway",
        "--stop-after-init",
        "--without-demo=all",
        "--http-port=8073",
        "--log-level=warn",
    ]
    emulators = {}
    try:
        subprocess.run(install, check=True)
        # the emulators are forked before Odoo starts any thread
        for name in scenarios:
            _provider, module, cls, kwargs, _credentials, latency, _target = SCENARIOS[name]
            emulators[name] = EmulatorProcess(module, cls, kwargs, latency).__enter__()
        config.parse_config(
            [f"--db_host={args.db_host}", "-d", args.db, "--addons-path", addons_path, "--log-level=warn"]
        )
        registry = odoo.modules.registry.Registry(args.db)
        profiler = None
        sql_times = None
        if args.profile is not None:
            import cProfile

            profiler = cProfile.Profile()
            sql_times = profile_sql(profiler)
        print(f"\n{args.count} SMS per run, one Odoo worker, batch size {args.batch_size or 'default'}\n")
        header = f"{'scenario':<20}{'Odoo SMS/s':>11}{'ceiling SMS/s':>14}{'ratio':>7}{'conc.':>6}  target"
        print(header)
        verdicts = []
        for name in scenarios:
            provider, _module, _cls, _kwargs, credentials, latency, (rate_target, ratio_target) = SCENARIOS[name]
            batch_provider = (rate_target or 0) >= BATCH_PROVIDER_RATE
            concurrency = args.concurrency or (16 if batch_provider else 32)
            url = emulators[name].url
            ceil = ceiling(provider, url, credentials, args.count, concurrency)
            rate, states, queue_time = odoo_run(
                registry, provider, url, credentials, args.count, concurrency, args.batch_size, profiler
            )
            ratio = rate / ceil
            targets = []
            if rate_target:
                targets.append(f">= {rate_target} SMS/s")
            if ratio_target:
                targets.append(f">= {ratio_target:.0%} of the ceiling")
            met = (not rate_target or rate >= rate_target) and (not ratio_target or ratio >= ratio_target)
            sent = states.get("pending", 0) == args.count
            verdict = ("met" if met else "NOT MET") if sent else f"NOT MET (not all sent: {states})"
            label = provider + (f" +{int(latency * 1000)} ms" if latency else "")
            print(
                f"{label:<20}{rate:>11.0f}{ceil:>14.0f}{ratio:>7.0%}{concurrency:>6}  {' and '.join(targets)}: {verdict}",
                flush=True,
            )
            rows = args.count / queue_time
            rows_verdict = "met" if rows >= ROWS_TARGET else "NOT MET"
            print(
                f"{'':<20}queueing with sms.sms create: {rows:.0f} rows/s ({queue_time:.2f} s), "
                f"target >= {ROWS_TARGET} rows/s: {rows_verdict}",
                flush=True,
            )
            verdicts += [met and sent, rows >= ROWS_TARGET]
        print(f"\n{sum(verdicts)} of {len(verdicts)} targets met")
        if profiler:
            import pstats

            if args.profile:
                profiler.dump_stats(args.profile)
            print("\nDispatch profile (the _process_queue runs only), by cumulative time:")
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.profile_lines)
            print("SQL statements of the dispatch runs, by total time (statement's start, calls, seconds):")
            for text, (calls, seconds) in sorted(sql_times.items(), key=lambda item: -item[1][1])[:15]:
                print(f"  {seconds:7.3f} s {calls:6d}  {text}")
    finally:
        for emulator in emulators.values():
            emulator.__exit__()
        try:
            odoo.sql_db.close_db(args.db)
        except Exception:  # the database may never have been opened
            pass
        subprocess.run(["dropdb", "--if-exists", "-h", args.db_host, args.db], check=False)


if __name__ == "__main__":
    main()
