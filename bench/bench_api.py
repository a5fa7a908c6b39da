"""Throughput of the JSON API (``/sms_gateway/api/v1``) against one Odoo worker over loopback, beside the same
SMS created through Odoo's XML-RPC (``sms.sms`` ``create``, what an application would do without the API).

A scratch database with sms_gateway, one company on a sandbox account (plenty of credit), an application and
its key; Odoo started as one process (``--workers 0``, the threaded server; ``--workers 1`` for one prefork
worker) and no cron thread (nothing is dispatched meanwhile). Then, for ``--seconds`` each:

* ``POST /messages``, 1 recipient, ``--concurrency`` clients (8): requests/s, p50/p99 latency (target ≥ 150/s);
* ``POST /messages`` with 1,000 recipients, one client: seconds per call (target ≤ 1.5 s);
* ``GET /messages/{id}``, ``--concurrency`` clients: requests/s (target ≥ 300/s);
* XML-RPC ``sms.sms`` ``create`` of 1 SMS, same clients: requests/s, and the API / XML-RPC ratio.

Beside each rate, the CPU the Odoo process used per request and what one dedicated core would sustain at that
cost: on a shared machine the wall rate says more about the neighbours than about the code. ``--profile``
profiles the request stack in-process instead (cProfile, the 40 heaviest calls).

    python3 bench/bench_api.py [--seconds 10] [--concurrency 8] [--workers 1]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import xmlrpc.client

import requests

import odoo as odoo_module

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, ".ci"))

from odoo_env import addons_path  # noqa: E402

ADDONS = addons_path()
DB = f"sms_bench_api_{os.getpid()}"

SETUP = """
import json, odoo
from odoo import Command, api, SUPERUSER_ID
odoo.tools.config.parse_config(["--db_host=127.0.0.1", "--addons-path", %(addons)r])
registry = odoo.modules.registry.Registry(%(db)r)
with registry.cursor() as cr:
    env = api.Environment(cr, SUPERUSER_ID, {})
    company = env.company
    company.country_id = env.ref("base.fr")
    env["sms.gateway.account"].create({"name": "Sandbox", "provider": "sandbox", "company_id": company.id})
    env["sms.credit.move"].create({"company_id": company.id, "move_type": "topup", "quantity": 10_000_000})
    user = env["res.users"].create({"name": "API bench", "login": "api_bench", "company_id": company.id,
        "company_ids": [Command.set(company.ids)],
        "groups_id": [Command.link(env.ref("base.group_user").id)]})
    app = env["sms.gateway.application"].create({"name": "Bench", "user_id": user.id, "company_id": company.id})
    key = app.action_generate_key()["context"]["default_key"]
    env.ref("base.user_admin").password = "admin"
    print(json.dumps({"key": key}))
"""

# --profile: the whole request stack in-process (werkzeug's test client on Odoo's WSGI application), under cProfile
PROFILE = """
import cProfile, json, pstats, odoo
from werkzeug.test import Client
odoo.tools.config.parse_config(["--db_host=127.0.0.1", "--addons-path", %(addons)r, "-d", %(db)r])
client = Client(odoo.http.root)
headers = {"Authorization": "Bearer %(key)s", "Content-Type": "application/json"}
one = json.dumps({"recipients": ["+33612345678"], "text": "Rappel"})
for _i in range(30):
    answer = client.post("/sms_gateway/api/v1/messages", data=one, headers=headers)
    assert answer.status_code == 201, answer.get_data()
sms_id = json.loads(answer.get_data())["messages"][0]["id"]
for label, call in (
    ("POST /messages", lambda: client.post("/sms_gateway/api/v1/messages", data=one, headers=headers)),
    ("GET /messages/{id}", lambda: client.get(f"/sms_gateway/api/v1/messages/{sms_id}", headers=headers)),
):
    profile = cProfile.Profile()
    profile.enable()
    for _i in range(300):
        call()
    profile.disable()
    stats = pstats.Stats(profile)
    print(f"=== {label}: {stats.total_tt / 300 * 1000:.2f} ms of CPU per request (profiled) ===")
    stats.sort_stats("cumulative").print_stats(40)
"""


def run(*command, **kwargs):
    return subprocess.run(command, check=True, **kwargs)


def process_cpu(pid):
    """CPU seconds (user + system) a running process used so far (Linux ``/proc/<pid>/stat``)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def load(seconds, concurrency, call, pid):
    """``call(session)`` from ``concurrency`` threads for ``seconds``: (requests/s, latencies, errors, Odoo CPU
    seconds per request). The machine may be shared: the CPU the Odoo process used per request says what one
    dedicated core would sustain (PostgreSQL's share not counted)."""
    latencies, errors = [], []
    cpu_before = process_cpu(pid)
    stop = time.monotonic() + seconds

    def client():
        session = requests.Session()
        while time.monotonic() < stop:
            started = time.monotonic()
            try:
                ok = call(session)
            except Exception as e:  # counted and printed, the run goes on
                ok = repr(e)
            latencies.append(time.monotonic() - started)
            if ok is not True:
                errors.append(ok)

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cpu = (process_cpu(pid) - cpu_before) / max(len(latencies), 1)
    return len(latencies) / (time.monotonic() - started), latencies, errors, cpu


def report(label, rate, latencies, errors, cpu, target=None):
    line = (
        f"{label:<44} {rate:8.1f} req/s  p50 {statistics.median(latencies) * 1000:7.1f} ms"
        f"  p99 {percentile(latencies, 0.99) * 1000:7.1f} ms  ({len(latencies)} requests, {len(errors)} errors)"
        f"  Odoo CPU {cpu * 1000:5.1f} ms/req = {1 / cpu if cpu else 0:6.1f} req/s per core"
    )
    if target:
        line += f"  target >= {target}: {'OK' if rate >= target else 'MISSED'}"
        line += f" (per core: {'OK' if cpu and 1 / cpu >= target else 'MISSED'})"
    print(line, flush=True)
    if errors:
        print("   first error:", errors[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    # 0: the threaded server, one process (--workers 1 also spawns the gevent process, which needs
    # zope.interface, absent here)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--port", type=int, default=8199)
    parser.add_argument("--profile", action="store_true", help="profile 300 POST and 300 GET in-process instead")
    args = parser.parse_args()

    run("dropdb", "--if-exists", "-h", "127.0.0.1", DB)
    odoo = [sys.executable, "-m", "odoo", "--db_host=127.0.0.1", "-d", DB, "--addons-path", ADDONS]
    print(f"Installing sms_gateway in {DB}…", flush=True)
    run(
        *odoo,
        "-i",
        "sms_gateway",
        "--without-demo",
        "all",
        "--stop-after-init",
        "--log-level",
        "warn",
        "--http-port",
        str(args.port),
    )
    setup = subprocess.run(
        [sys.executable, "-c", SETUP % {"addons": ADDONS, "db": DB}], check=True, capture_output=True, text=True
    )
    key = json.loads(setup.stdout.strip().splitlines()[-1])["key"]
    if args.profile:
        try:
            subprocess.run([sys.executable, "-c", PROFILE % {"addons": ADDONS, "db": DB, "key": key}], check=True)
        finally:
            run("dropdb", "--if-exists", "-h", "127.0.0.1", DB)
        return
    # odoo-bin, not "-m odoo": the prefork server re-runs sys.argv[0] for its gevent (websocket) process
    odoo_bin = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(odoo_module.__file__))), "odoo-bin")
    server = subprocess.Popen(
        [
            sys.executable,
            odoo_bin,
            *odoo[3:],
            "--http-port",
            str(args.port),
            "--http-interface",
            "127.0.0.1",
            "--workers",
            str(args.workers),
            "--max-cron-threads",
            "0",
            # --database without --db-filter: Odoo does not list the server's databases for each request
            # without a session (every API call), a connection and a query saved
            "--log-level",
            "warn",
            "--limit-time-real",
            "600",
            "--limit-time-cpu",
            "600",
        ],
    )
    base = f"http://127.0.0.1:{args.port}"
    api = f"{base}/sms_gateway/api/v1"
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    try:
        for _attempt in range(120):
            try:
                if requests.get(f"{api}/openapi.json", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.5)
        mode = f"--workers {args.workers}" if args.workers else "threaded (--workers 0)"
        print(f"Odoo {mode}, {args.concurrency} concurrent clients, {args.seconds:g} s per measure", flush=True)
        one = json.dumps({"recipients": ["+33612345678"], "text": "Rappel : rendez-vous demain à 9h."})

        def post_one(session):
            response = session.post(f"{api}/messages", data=one, headers=headers, timeout=60)
            return response.status_code == 201 or f"{response.status_code} {response.text[:200]}"

        for _warm in range(20):
            post_one(requests)
        api_post = load(args.seconds, args.concurrency, post_one, server.pid)
        report("POST /messages, 1 recipient", *api_post, target=150)

        numbers = [f"+336{10000000 + i}" for i in range(1000)]
        thousand = json.dumps({"recipients": numbers, "text": "Coupure d'eau demain de 8h à 12h."})
        durations = []
        for _call in range(5):
            started = time.monotonic()
            response = requests.post(f"{api}/messages", data=thousand, headers=headers, timeout=120)
            durations.append(time.monotonic() - started)
            assert response.status_code == 201, response.text[:300]
        print(
            f"{'POST /messages, 1,000 recipients':<44} {statistics.median(durations):8.3f} s per call (median of 5,"
            f" max {max(durations):.3f} s)  target <= 1.5 s: {'OK' if statistics.median(durations) <= 1.5 else 'MISSED'}",
            flush=True,
        )

        sms_id = requests.post(f"{api}/messages", data=one, headers=headers, timeout=60).json()["messages"][0]["id"]

        def get_one(session):
            response = session.get(f"{api}/messages/{sms_id}", headers=headers, timeout=60)
            return response.status_code == 200 or f"{response.status_code} {response.text[:200]}"

        report("GET /messages/{id}", *load(args.seconds, args.concurrency, get_one, server.pid), target=300)

        local = threading.local()

        def xmlrpc_create(session):
            if not hasattr(local, "proxy"):
                local.proxy = xmlrpc.client.ServerProxy(f"{base}/xmlrpc/2/object")
            local.proxy.execute_kw(
                DB, 2, "admin", "sms.sms", "create", [{"number": "+33612345678", "body": "Rappel : rendez-vous."}]
            )
            return True

        rpc = load(args.seconds, args.concurrency, xmlrpc_create, server.pid)
        report("XML-RPC sms.sms create, 1 SMS (admin password)", *rpc)
        print(
            f"{'API POST / XML-RPC create':<44} {api_post[0] / rpc[0]:8.2f} x wall, {rpc[3] / api_post[3]:.2f} x per CPU"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
        run("dropdb", "--if-exists", "-h", "127.0.0.1", DB)


if __name__ == "__main__":
    main()
