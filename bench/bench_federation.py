#!/usr/bin/env python3
"""Benchmark of a federation's follow-up: 1,000,000 SMS over 20 members, and an allocation to 200 members.

Creates a scratch database (dropped at the end) with ``sms_gateway`` installed, a structure sharing a sandbox
account with 220 branches, and a history of ``--n`` SMS (default 1,000,000) over the first 20 of them, spread
over the last 12 months (written with one INSERT ... SELECT: setup, not measured). Then, as one of the
structure's SMS managers (record rules applied, as in the UI), measures:

* the dashboard: the graph of the last 12 months per company (one ``read_group`` by month and company);
* the pivot by member and month: the four ``read_group`` the pivot view runs (total, rows, columns, cells);
* the re-invoicing report for a year: the list grouped by member with its sums;
* the members screen (balances and this month's and year's figures of the 20 members);
* the allocation wizard giving 10 SMS to each of 200 members (its create and its button).

Each measure is the best of ``--repeat`` runs, in a transaction that is rolled back.

    python3 bench/bench_federation.py [--n 1000000] [--repeat 3] [--db NAME] [--db-host 127.0.0.1]
"""

import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".ci"))
import odoo_env  # the one addons-path helper

MEMBERS_WITH_HISTORY = 20
MEMBERS_ALLOCATED = 200
TARGET_REPORT_SECONDS = 1.0  # dashboard, pivot by member and month, re-invoicing report
TARGET_ALLOCATION_SECONDS = 2.0  # one wizard allocating to 200 members


def setup(env, n):
    """The structure, its 220 members (the first 20 drawing on the pool), its manager, and ``n`` SMS."""
    Company = env["res.company"].with_context(tracking_disable=True)
    # no partner_autocomplete enrichment (auto-installed; it would call a remote service for a company with a domain)
    extra = {"iap_enrich_auto_done": True} if "iap_enrich_auto_done" in Company._fields else {}
    structure = Company.create({"name": "Bench Syndicat", "country_id": env.ref("base.fr").id, **extra})
    members = Company.create(
        [
            {
                "name": f"Bench member {index:03d}",
                "parent_id": structure.id,
                "sms_funding": "pool" if index < MEMBERS_WITH_HISTORY else "own",
                "sms_quota": 100000 if index < MEMBERS_WITH_HISTORY else 0,
                **extra,
            }
            for index in range(MEMBERS_WITH_HISTORY + MEMBERS_ALLOCATED)
        ]
    )
    account = env["sms.gateway.account"].create(
        {
            "name": "Bench shared",
            "provider": "sandbox",
            "company_id": structure.id,
            "share_mode": "all",
            "reinvoice_unit_price": 0.045,
        }
    )
    env["sms.credit.move"].create({"company_id": structure.id, "move_type": "topup", "quantity": 10000000})
    manager = env["res.users"].create(
        {
            "name": "Bench structure manager",
            "login": "bench_structure_manager",
            "company_id": structure.id,
            "company_ids": [(6, 0, structure.ids)],
            "groups_id": [
                (6, 0, [env.ref("base.group_user").id, env.ref("sms_gateway.group_sms_manager").id]),
            ],
        }
    )
    env.flush_all()
    history = members[:MEMBERS_WITH_HISTORY]
    # one row in eleven an error (uncharged), one in seven two segments, a day of the last 360 per row
    env.cr.execute(
        """INSERT INTO sms_sms (uuid, number, body, state, company_id, credit_company_id, gateway_account_id,
                                sms_segment_count, credit_charged, origin_label, create_uid, write_uid,
                                create_date, write_date, to_delete)
           SELECT md5(i::text), '+336' || lpad((i %% 100000000)::text, 8, '0'), 'Rappel',
                  CASE WHEN i %% 11 = 10 THEN 'error' WHEN i %% 3 = 0 THEN 'pending' ELSE 'sent' END,
                  (%(members)s::int[])[1 + i %% %(count)s], %(structure)s, %(account)s,
                  1 + (i %% 7 = 0)::int, CASE WHEN i %% 11 = 10 THEN 0 ELSE 1 + (i %% 7 = 0)::int END,
                  (ARRAY['Manual send', 'Appointments', 'Code', 'Marketing'])[1 + i %% 4], %(uid)s, %(uid)s,
                  now() at time zone 'UTC' - (i %% 360) * interval '1 day', now() at time zone 'UTC', false
             FROM generate_series(1, %(n)s) AS i""",
        {
            "members": history.ids,
            "count": len(history),
            "structure": structure.id,
            "account": account.id,
            "uid": manager.id,
            "n": n,
        },
    )
    env.cr.execute("ANALYZE sms_sms")
    env.cr.execute("ANALYZE res_company")
    return structure, members, manager


def best_of(repeat, env, work):
    times = []
    for _index in range(repeat):
        env.invalidate_all()
        start = time.perf_counter()
        with env.cr.savepoint(flush=False) as savepoint:
            work()
            env.flush_all()
            savepoint.rollback()
        times.append(time.perf_counter() - start)
    env.invalidate_all()
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000000, help="SMS in the history")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db", default=f"sms_gateway_bench_fed_{os.getpid()}")
    parser.add_argument("--db-host", default="127.0.0.1")
    parser.add_argument("--http-port", type=int, default=8073)
    parser.add_argument("--addons-path", default=None)
    args = parser.parse_args()
    addons_path = args.addons_path or odoo_env.addons_path()
    pg_env = dict(os.environ, PGHOST=args.db_host)
    subprocess.run(["dropdb", "--if-exists", args.db], env=pg_env, check=True)
    subprocess.run(["createdb", args.db], env=pg_env, check=True)
    try:
        install = [sys.executable, "-m", "odoo", "-d", args.db, "--db_host", args.db_host]
        install += ["--addons-path", addons_path, "--http-port", str(args.http_port), "--without-demo=all"]
        install += ["--log-level=warn", "--stop-after-init", "-i", "sms_gateway"]
        subprocess.run(install, check=True, stdout=subprocess.DEVNULL)
        figures = measure(args, addons_path)
    finally:
        subprocess.run(["dropdb", "--if-exists", args.db], env=pg_env, check=False)
    print()
    print(f"{'':44}{'measured (s)':>14}{'target (s)':>12}")
    for label, seconds, target in figures:
        verdict = "met" if seconds <= target else "MISSED"
        print(f"{label:44}{seconds:>14.3f}{target:>12.1f}  {verdict}")


def measure(args, addons_path):
    import odoo
    from odoo import api

    odoo.tools.config.parse_config(["--db_host", args.db_host, "--addons-path", addons_path])
    registry = odoo.modules.registry.Registry(args.db)
    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        start = time.perf_counter()
        structure, members, manager = setup(env, args.n)
        cr.commit()
        summarised = time.perf_counter()
        env["sms.usage.daily"]._refresh()  # what the hourly cron does
        cr.commit()
        summarised = time.perf_counter() - summarised
        print(f"scratch database {args.db}: {args.n:,} SMS over {MEMBERS_WITH_HISTORY} members, "
              f"{len(members)} members, in {time.perf_counter() - start:.0f} s; first daily summary "
              f"{summarised:.1f} s")  # fmt: skip
        uenv = api.Environment(cr, manager.id, {"lang": "en_US", "tz": "UTC", "allowed_company_ids": structure.ids})
        Report = uenv["sms.usage.report"]
        twelve_months = [("date", ">=", odoo.fields.Datetime.subtract(odoo.fields.Datetime.now(), months=12))]
        measures = ["sms_count:sum", "segment_count:sum", "credit:sum"]

        def dashboard():
            groups = Report.read_group(twelve_months, ["credit:sum"], ["date:month", "company_id"], lazy=False)
            assert len(groups) >= MEMBERS_WITH_HISTORY * 12, len(groups)

        def pivot():
            for groupby in ([], ["company_id"], ["date:month"], ["company_id", "date:month"]):
                Report.read_group(twelve_months, measures, groupby, lazy=False)

        def reinvoicing():
            domain = [*twelve_months, ("credit", ">", 0)]
            groups = Report.read_group(domain, ["sms_count:sum", "credit:sum", "amount:sum"], ["company_id"])
            assert len(groups) == MEMBERS_WITH_HISTORY, groups

        def members_screen():
            rows = uenv["sms.federation.member"].search([("company_id", "in", members[:MEMBERS_WITH_HISTORY].ids)])
            rows.read(["name", "sms_funding", "sms_credit_balance", "sms_quota_left", "sms_month_credit"])

        def allocation():
            wizard = uenv["sms.credit.allocation"].create(
                {
                    "structure_id": structure.id,
                    "member_ids": [(6, 0, members[MEMBERS_WITH_HISTORY:].ids)],
                    "quantity": 10,
                }
            )
            wizard.action_allocate()

        figures = [
            ("dashboard (12 months per company)", best_of(args.repeat, env, dashboard), TARGET_REPORT_SECONDS),
            ("pivot by member and month (4 queries)", best_of(args.repeat, env, pivot), TARGET_REPORT_SECONDS),
            ("re-invoicing report (a year, per member)", best_of(args.repeat, env, reinvoicing), TARGET_REPORT_SECONDS),
            ("members screen (20 members)", best_of(args.repeat, env, members_screen), TARGET_REPORT_SECONDS),
            (
                f"allocation wizard to {MEMBERS_ALLOCATED} members",
                best_of(args.repeat, env, allocation),
                TARGET_ALLOCATION_SECONDS,
            ),
        ]
        # the hourly refresh once the history is summarised (the last 7 days again)
        refresh = best_of(args.repeat, env, lambda: env["sms.usage.daily"]._refresh())
        figures.append(("hourly summary refresh (last 7 days)", refresh, 60.0))
        cr.rollback()
    odoo.sql_db.close_db(args.db)
    return figures


if __name__ == "__main__":
    main()
