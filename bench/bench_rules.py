#!/usr/bin/env python3
"""Benchmark of the sending rules (issue 13): queueing a big send with and without them.

Creates a scratch database (dropped at the end) with ``contacts`` and ``sms_gateway``, N contacts (default
100,000) with valid French mobiles (``bench_composer.populate``) and a history of SMS sent to them today (two
each for the first 5 %, one each for the next 90 %: what the cap per recipient must count). Then measures, in
separate Odoo processes, the same "select all" send queued end to end (the send request and the background
preparation of its SMS, chunk after chunk, as ``bench_composer`` does), each in a transaction rolled back:

* plain: no blacklist, no cap, no sending window;
* rules: 10,000 of the numbers blacklisted, a cap of 2 SMS per number per day and 5 per week, the sending window
  on and closed at that moment (every SMS queued waits for its opening).

Both are measured ``--repeat`` times, alternately, and the best time of each is kept.

    python3 bench/bench_rules.py [--n 100000] [--repeat 2] [--db NAME] [--db-host 127.0.0.1]
"""

import argparse
import cProfile
import pstats
import json
import os
import subprocess
import sys
import time
from datetime import datetime

import pytz

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_composer  # populate() and the Odoo command line

TARGET_RATIO = 1.2  # rules / plain
BLACKLIST_SHARE = 10  # one number in ten blacklisted (10,000 of 100,000)
CAP_PER_DAY = 2
CAP_PER_WEEK = 5


def setup(env, n):
    """The account, its credit and the history of SMS sent today (setup, not measured)."""
    company = env.ref("base.main_company")
    account = env["sms.gateway.account"].create({"name": "Bench", "provider": "sandbox", "company_id": company.id})
    env["sms.credit.move"].create({"company_id": company.id, "move_type": "topup", "quantity": 10**9})
    env.flush_all()
    partners = env["res.partner"].search([("name", "=like", "Bench %")], order="id")
    twice = partners[: n // 20]
    once = partners[n // 20 : n // 20 + n * 9 // 10]
    cr = env.cr
    for group in (twice, twice, once):
        cr.execute(
            """INSERT INTO sms_sms (uuid, number, body, state, company_id, gateway_account_id, partner_id,
                                    sms_kind, create_uid, write_uid, create_date, write_date)
               SELECT md5(random()::text || p.id), p.phone_sanitized, 'Rappel', 'sent', %s, %s, p.id,
                      'functional', 1, 1, now() at time zone 'UTC', now() at time zone 'UTC'
                 FROM res_partner p WHERE p.id = ANY(%s)""",
            (company.id, account.id, group.ids),
        )
    cr.execute("ANALYZE sms_sms")


def worker(args):
    """Runs in a child process: one measure, printed as one JSON line."""
    import odoo
    from odoo import api

    odoo.tools.config.parse_config(["--db_host", args.db_host, "--addons-path", args.addons_path])
    registry = odoo.modules.registry.Registry(args.db)
    result = {}
    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        if args.worker == "populate":
            bench_composer.populate(env, args.n)
            cr.commit()
            return print(json.dumps({"created": args.n}))
        if args.worker == "setup":
            setup(env, args.n)
            cr.commit()
            return print(json.dumps({"setup": True}))
        company = env.ref("base.main_company")
        if args.worker == "rules":
            # the window closed now, whatever the hour of the run (Paris time)
            hour = datetime.now(pytz.timezone("Europe/Paris")).hour
            start, end = (hour + 2.0, 23.5) if hour < 12 else (0.5, hour - 1.0)
            company.write(
                {
                    "sms_window_enabled": True,
                    "sms_window_days": "every_day",
                    "sms_window_start": start,
                    "sms_window_end": end,
                    "sms_cap_per_day": CAP_PER_DAY,
                    "sms_cap_per_week": CAP_PER_WEEK,
                }
            )
            # the last tenth of the numbers blacklisted (not the capped ones: each rule has its own SMS)
            cr.execute(
                """INSERT INTO phone_blacklist (number, active, create_uid, write_uid, create_date, write_date)
                   SELECT phone_sanitized, TRUE, 1, 1, now() at time zone 'UTC', now() at time zone 'UTC'
                     FROM res_partner WHERE name LIKE 'Bench %%' ORDER BY id DESC LIMIT %s""",
                (args.n // BLACKLIST_SHARE,),
            )
            env.invalidate_all()
        admin = env.ref("base.user_admin")
        env = api.Environment(cr, admin.id, {"lang": "en_US", "tz": "UTC"})
        partners = env["res.partner"].search([("name", "=like", "Bench %")], order="id")
        ids = partners.ids[: args.n]
        limit = int(env["ir.config_parameter"].sudo().get_param("web.active_ids_limit", 20000))
        context = {
            "active_model": "res.partner",
            "active_ids": ids[:limit],
            "default_res_ids": ids[:limit],
            "active_domain": [("name", "=like", "Bench %")],
            "default_composition_mode": "mass",
            "default_mass_keep_log": True,
        }
        composer = env["sms.composer"].with_context(**context).create({"body": bench_composer.BODY})
        result["recipients"] = composer.sms_recipient_count
        result["recap_cap_count"] = composer.sms_cap_count
        env.flush_all()
        env.invalidate_all()
        profiler = cProfile.Profile() if args.profile else None
        if profiler:
            profiler.enable()
        start = time.perf_counter()
        composer.action_send_sms()
        env.flush_all()
        batch = composer.sms_send_batch_id
        while batch.preparation == "preparing":
            batch._prepare_next_chunk()
            env.flush_all()
            env.invalidate_all()
        result["queue_s"] = time.perf_counter() - start
        if profiler:
            profiler.disable()
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(45)
        cr.execute(
            """SELECT state, COALESCE(failure_type, ''), window_opens_at IS NOT NULL, COUNT(*) FROM sms_sms
                WHERE send_batch_id = %s GROUP BY 1, 2, 3""",
            (batch.id,),
        )
        result["sms"] = {f"{state} {failure or ''}{' waiting' if waiting else ''}".strip(): count
                         for state, failure, waiting, count in cr.fetchall()}
        cr.rollback()
    print(json.dumps(result))


def measure(args, name):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", name, "--db", args.db, "--n", str(args.n)]
    cmd += ["--db-host", args.db_host, "--addons-path", args.addons_path]
    process = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if process.returncode:
        sys.exit(f"{name} measure failed:\n{process.stderr[-3000:]}")
    return json.loads(process.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--db", default=f"sms_gateway_bench_rules_{os.getpid()}")
    parser.add_argument("--db-host", default="127.0.0.1")
    parser.add_argument("--http-port", type=int, default=8072)
    parser.add_argument("--addons-path", default=None)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--profile", action="store_true", help="worker only: profile the measure (on stderr)")
    parser.add_argument("--keep-db", action="store_true", help="keep the scratch database (to profile a worker)")
    args = parser.parse_args()
    if not args.addons_path:
        args.addons_path = bench_composer.odoo_env.addons_path()
    if args.worker:
        worker(args)
        return
    env = dict(os.environ, PGHOST=args.db_host)
    subprocess.run(["dropdb", "--if-exists", args.db], env=env, check=True)
    subprocess.run(["createdb", args.db], env=env, check=True)
    try:
        start = time.perf_counter()
        bench_composer.run(bench_composer.odoo_cmd(args, "-i", "contacts,sms_gateway"))
        measure(args, "populate")
        measure(args, "setup")
        # a history that has been there a while has been vacuumed (index-only scans for the cap's counts)
        subprocess.run(["psql", "-q", "-d", args.db, "-c", "VACUUM ANALYZE sms_sms"], env=env, check=True)
        print(f"scratch database {args.db}: {args.n:,} contacts and their SMS history in "
              f"{time.perf_counter() - start:.0f} s")
        runs = {"plain": [], "rules": []}
        for _index in range(max(args.repeat, 1)):
            for name in runs:
                runs[name].append(measure(args, name))
    finally:
        if not args.keep_db:
            subprocess.run(["dropdb", "--if-exists", args.db], env=env, check=False)
    best = {name: min(results, key=lambda r: r["queue_s"]) for name, results in runs.items()}
    print()
    for name, result in best.items():
        times = ", ".join(f"{r['queue_s']:.2f}" for r in runs[name])
        print(f"{name:6} {result['recipients']:,} recipients: queued end to end in {result['queue_s']:.2f} s "
              f"(runs: {times}); recap counted {result['recap_cap_count']:,} over the cap")
        for state, count in sorted(best[name]["sms"].items()):
            print(f"         {state:40} {count:>8,}")
    ratio = best["rules"]["queue_s"] / best["plain"]["queue_s"]
    verdict = "met" if ratio <= TARGET_RATIO else "MISSED"
    print(f"\nrules / plain: {ratio:.2f} (target <= {TARGET_RATIO}: {verdict})")


if __name__ == "__main__":
    main()
