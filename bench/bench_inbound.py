"""Inbound webhooks per second on one Odoo worker (target: 200/s).

A database with one Twilio account and ``--history`` SMS already sent (the replies are matched against them
later, by the cron) is served by one Odoo HTTP worker process (``--workers 1``, no cron thread). ``--clients``
threads post ``--count`` signed Twilio incoming-message webhooks (each a new reply, a few of them STOP) to the
account's ``/sms_gateway/inbound/<token>`` as fast as the worker answers. Prints the requests per second the
worker took (every answer must be 200 and every reply stored once) with the median and 95th-percentile
latencies, then how fast the cron posts them (chatter, blacklist), per second, run in this process.

    python3 bench/bench_inbound.py [--count 3000] [--clients 8] [--history 20000]
"""

import argparse
import base64
import hashlib
import hmac
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

import psycopg2
import requests

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, ".ci"))

from odoo_env import addons_path  # noqa: E402

ADDONS = addons_path()
DB = f"sms_bench_inbound_{os.getpid()}"
SID, TOKEN = "AC" + "0" * 31 + "1", "twilio-token"
TARGET = 200.0


def psql(query, args=()):
    conn = psycopg2.connect(dbname=DB, host="127.0.0.1")
    conn.autocommit = True
    with conn.cursor() as cr:
        cr.execute(query, args)
        rows = cr.fetchall() if cr.description else None
    conn.close()
    return rows


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def odoo_env():
    import odoo
    from odoo import SUPERUSER_ID, api
    from odoo.modules.registry import Registry
    from odoo.tools import config

    if config["db_name"] != DB:  # once per process
        config.parse_config(["--db_host=127.0.0.1", "-d", DB, "--addons-path", ADDONS, "--log-level=warn"])
        odoo.netsvc.init_logger()
    registry = Registry(DB)
    cr = registry.cursor()
    return cr, api.Environment(cr, SUPERUSER_ID, {})


def setup(history):
    """One Twilio account of the main company and ``history`` SMS sent from it, to as many numbers."""
    cr, env = odoo_env()
    company = env.ref("base.main_company")
    company.country_id = env.ref("base.fr")
    account = env["sms.gateway.account"].create(
        {
            "name": "Twilio",
            "provider": "twilio",
            "company_id": company.id,
            "username": SID,
            "password": TOKEN,
            "sender": "+15005550006",
            "base_url": "http://127.0.0.1:9",
        }
    )
    env["ir.config_parameter"].set_param("web.base.url", "http://127.0.0.1")
    partner = env["res.partner"].create({"name": "Bench contact", "mobile": "+33600000000"})
    cr.execute(
        """INSERT INTO sms_sms (uuid, number, body, state, company_id, gateway_account_id, partner_id, sent_date,
                                provider_message_id, create_date, write_date, create_uid, write_uid)
           SELECT md5(n::text), '+336' || lpad(n::text, 8, '0'), 'Rappel', 'pending', %s, %s, %s,
                  now() AT TIME ZONE 'UTC' - interval '1 day', 'SMout' || n, now(), now(), 1, 1
             FROM generate_series(1, %s) n""",
        (company.id, account.id, partner.id, history),
    )
    cr.commit()
    token = account.webhook_token
    cr.close()
    return token


def signature(url, form):
    data = url + "".join(f"{name}{form[name]}" for name in sorted(form))
    return base64.b64encode(hmac.new(TOKEN.encode(), data.encode(), hashlib.sha1).digest()).decode()


def post_all(base, token, count, clients, history):
    url = f"{base}/sms_gateway/inbound/{token}"
    signed_url = f"http://127.0.0.1/sms_gateway/inbound/{token}"  # the account's URL (web.base.url)
    latencies, failures, lock = [], [], threading.Lock()
    next_index = iter(range(count))

    def client():
        session = requests.Session()
        while True:
            with lock:
                index = next(next_index, None)
            if index is None:
                return
            number = f"+336{(index % history) + 1:08d}"
            body = "STOP" if index % 50 == 0 else f"Réponse {index} : je serai là"
            form = {"MessageSid": f"SMin{index:08d}", "AccountSid": SID, "From": number, "To": "+15005550006",
                    "Body": body, "NumMedia": "0", "SmsStatus": "received"}  # fmt: skip
            started = time.perf_counter()
            response = session.post(url, data=form, headers={"X-Twilio-Signature": signature(signed_url, form)})
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                if response.status_code != 200:
                    failures.append(response.status_code)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies, failures


def webhook_work(env, token, count, history):
    """Webhooks/s of what the controller does for one request, HTTP and routing left out (rolled back)."""
    from odoo.addons.sms_gateway.models.sms_gateway_account import INBOUND_ROUTE

    Account, Inbound = env["sms.gateway.account"].sudo(), env["sms.inbound"].sudo()
    env.cr.execute("SAVEPOINT webhook_work")
    started = time.perf_counter()
    for index in range(count):
        form = {"MessageSid": f"SMwork{index:08d}", "AccountSid": SID, "From": f"+336{(index % history) + 1:08d}",
                "To": "+15005550006", "Body": f"Réponse {index}"}  # fmt: skip
        # the calls of controllers/main.py _read_webhook and controllers/inbound.py, in their order
        found = Account._gateway_webhook_account(token)
        account = Account.browse(found.id)
        connector = Account._gateway_webhook_connector(found)
        url = f"{Account.get_base_url().rstrip('/')}{INBOUND_ROUTE}{found.token}"
        assert connector.check_signature(url, form, {"X-Twilio-Signature": signature(url, form)})
        Inbound._gateway_receive(account, connector.parse_inbound(form))
        connector.close()
        env.invalidate_all()  # a new request, a new cache
    took = time.perf_counter() - started
    env.cr.execute("ROLLBACK TO SAVEPOINT webhook_work")
    return count / took


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--history", type=int, default=20000)
    args = parser.parse_args()
    subprocess.run(["dropdb", "-h", "127.0.0.1", "--if-exists", DB], check=False)
    server = None
    try:
        subprocess.run(
            [sys.executable, "-m", "odoo", "--db_host=127.0.0.1", "-d", DB, "--addons-path", ADDONS,
             "-i", "sms_gateway", "--stop-after-init", "--without-demo=all", "--workers", "0",
             "--max-cron-threads", "0", "--http-port", str(free_port()), "--log-level", "warn"],
            check=True,
        )  # fmt: skip
        token = setup(args.history)
        port = free_port()
        # Odoo's prefork server, without its websocket (gevent) process: not needed here, and its launch from
        # ``-m odoo`` fails and is retried every second
        launcher = (
            "import sys; from odoo.service import server; "
            "server.PreforkServer.long_polling_spawn = lambda self: None; "
            "from odoo.cli.command import main; sys.argv = ['odoo', *sys.argv[1:]]; main()"
        )
        server = subprocess.Popen(
            # --database without --db-filter: Odoo does not list the server's databases for each request
            [sys.executable, "-c", launcher, "--db_host=127.0.0.1", "-d", DB,
             "--addons-path", ADDONS, "--workers", "1", "--max-cron-threads", "0", "--http-port", str(port),
             "--http-interface", "127.0.0.1", "--log-level", "warn", "--limit-time-real", "600"],
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(f"{base}/web/webclient/version_info", timeout=2)
                break
            except requests.RequestException:
                time.sleep(0.5)
        post_all(base, token, 50, 2, args.history)  # warm-up: the worker loads the registry and routes
        session, started = requests.Session(), time.perf_counter()
        for _i in range(100):
            session.post(f"{base}/web/webclient/version_info", json={})
        baseline = 100 / (time.perf_counter() - started)
        print(f"baseline: {baseline:.0f} requests/s to /web/webclient/version_info on this worker (one client)")
        psql("DELETE FROM sms_inbound")
        elapsed, latencies, failures = post_all(base, token, args.count, args.clients, args.history)
        stored = psql("SELECT count(*) FROM sms_inbound")[0][0]
        rate = args.count / elapsed
        latencies.sort()
        p95 = latencies[int(len(latencies) * 0.95) - 1]
        print(
            f"{args.count} signed Twilio inbound webhooks from {args.clients} clients to one Odoo worker: "
            f"{rate:.0f} webhooks/s (target >= {TARGET:.0f}/s: {'met' if rate >= TARGET else 'NOT met'}, "
            f"x{rate / TARGET:.2f} of the target; x{rate / baseline:.2f} of the empty request's rate), median "
            f"{statistics.median(latencies) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms; {len(failures)} non-200 "
            f"answers; {stored} stored; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        )
        server.terminate()
        server.wait(timeout=30)
        server = None
        cr, env = odoo_env()
        in_process = webhook_work(env, token, 1000, args.history)
        print(
            f"the webhook's own work (token, signature, parse, store), in this process without HTTP: "
            f"{in_process:.0f} webhooks/s"
        )
        started = time.perf_counter()
        env["sms.inbound"]._cron_process_inbound()
        took = time.perf_counter() - started
        env.cr.execute("SELECT state, count(*) FROM sms_inbound GROUP BY state")
        states = dict(env.cr.fetchall())
        blacklisted = env["phone.blacklist"].search_count([])
        cr.close()
        from odoo.sql_db import close_db

        close_db(DB)
        print(
            f"the cron then posted them in {took:.1f} s: {stored / took:.0f} inbound SMS/s "
            f"(states {states}, {blacklisted} numbers blacklisted by STOP)"
        )
    finally:
        if server:
            server.terminate()
            server.wait(timeout=30)
        subprocess.run(["dropdb", "-h", "127.0.0.1", "--if-exists", DB], check=False)


if __name__ == "__main__":
    main()
