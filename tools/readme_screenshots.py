"""README screenshots of the real screens, in French, from a scratch demo database (``make screenshots``).

1. creates a scratch database with sms_gateway and its demo data, French loaded (``--load-language fr_FR``);
2. fills it as Odoo is used (Odoo as a library, ``--populate``): admin and company in French (Europe/Paris),
   two top-ups, 240 subscribers (four with a malformed number, one with the sandbox's refused test number),
   one send to all of them through the Send SMS composer, half of it dispatched by one queue run limited to
   120 SMS (the send is caught in progress), then three small sends to the demo contacts, dispatched, that
   meet the sandbox's refused number, "out of credit" and "account refused" answers (History with errors);
3. starts Odoo on a free port of 127.0.0.1, without cron threads (nothing moves between two screenshots);
4. drives headless Chromium (``playwright``, Debian's /usr/bin/chromium) logged in as admin and writes to
   ``sms_gateway/static/description/``: ``recap.png`` (Contacts > select all > Actions > Send SMS, a message
   typed), ``send_progress.png`` (SMS > Sends, the send), ``history_errors.png`` (SMS > History, filter
   *In error*), ``credits.png`` (SMS > Credits), ``account_form.png`` (the provider account form);
5. stops the server and drops the database, even on failure.

Nothing leaves 127.0.0.1: Odoo runs from the local installation (nothing downloaded), the sandbox provider
sends nothing, the Odoo processes get a proxy on a closed local port (``http(s)_proxy``: an outgoing request
fails at once), partner_autocomplete's first-login company lookup is marked done, Chromium runs with background networking off and every request of the page to another host
is aborted (and reported).

    python3 tools/readme_screenshots.py [--out DIR] [--keep]   (pip install playwright: requirements-dev.txt)
"""

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, ".ci"))
from odoo_env import addons_path  # noqa: E402

HOST = "127.0.0.1"
OUT = os.path.join(REPO, "sms_gateway", "static", "description")
CHROMIUM = "/usr/bin/chromium"
BODY = "Bonjour, la mairie vous informe : la piscine municipale rouvre samedi 14 juin à 9h. Bonne journée !"
RECAP_BODY = "Rappel : réunion publique jeudi à 18h30, salle des fêtes. Venez nombreux !"
SUBSCRIBERS = 240
FIRST_NAMES = "Camille Lucas Léa Hugo Chloé Louis Manon Gabriel Inès Jules Zoé Arthur Jade Nathan Lina Théo".split()
LAST_NAMES = "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent Lefèbvre".split()
DEMO_CONTACTS = [f"sms_gateway.res_partner_sms_demo_{x}" for x in ("1", "2", "3", "invalid")]
SMALL_SENDS = [
    ("Alerte météo : vigilance orange neige demain, déneigement à partir de 5h.", []),
    ("La mairie sera fermée lundi 9 juin (lundi de Pentecôte).", []),
    (
        "Rappel : conseil municipal ce soir à 20h, salle du conseil.",
        [("Élise Fontaine", "+33 6 00 00 00 02"), ("Marc Giraud", "+33 6 00 00 00 04")],
    ),
]
VIEWPORT = {"width": 1440, "height": 900}


def free_port():
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


# Odoo's outgoing HTTP (requests, urllib) goes to a closed local port: nothing leaves this machine
NO_NETWORK = {
    **os.environ,
    "http_proxy": f"http://{HOST}:9",
    "https_proxy": f"http://{HOST}:9",
    "HTTP_PROXY": f"http://{HOST}:9",
    "HTTPS_PROXY": f"http://{HOST}:9",
    "no_proxy": HOST,
    "NO_PROXY": HOST,
}


def odoo_command(db, *args):
    return [
        sys.executable, "-m", "odoo", f"--db_host={HOST}", "-d", db, "--addons-path", addons_path(),
        "--db-filter", f"^{db}$", "--log-level=warn", *args,
    ]  # fmt: skip


def populate(db):
    """Child process (``--populate DB``): the data the screens show, created as Odoo does it."""
    import odoo
    from odoo import SUPERUSER_ID, api
    from odoo.modules.registry import Registry
    from odoo.tools import config

    config.parse_config([f"--db_host={HOST}", "-d", db, "--addons-path", addons_path(), "--log-level=warn"])
    odoo.netsvc.init_logger()
    registry = Registry(db)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        fr = env.ref("base.fr")
        company = env.ref("base.main_company")
        company.write({"name": "Mairie de Chamonix", "country_id": fr.id, "sms_optout_mention": "STOP 36608"})
        if "iap_enrich_auto_done" in company._fields:  # partner_autocomplete would ask IAP at the first login
            company.iap_enrich_auto_done = True
        company.partner_id.lang = "fr_FR"
        env.ref("base.user_admin").write({"lang": "fr_FR", "tz": "Europe/Paris"})
        account = env.ref("sms_gateway.sms_gateway_account_sandbox_demo")
        account.write({"name": "Sandbox – Mairie", "sender": "MAIRIE"})
        env["sms.credit.move"].create(
            [
                {"company_id": company.id, "move_type": "topup", "quantity": 500, "note": "Bon de commande 2025-014"},
                {"company_id": company.id, "move_type": "topup", "quantity": 1000, "note": "Budget communication T2"},
            ]
        )
        tag = env["res.partner.category"].create({"name": "Lettre d'information"})
        values = []
        for i in range(SUBSCRIBERS):
            name = f"{FIRST_NAMES[i % len(FIRST_NAMES)]} {LAST_NAMES[(i // len(FIRST_NAMES)) % len(LAST_NAMES)]}"
            mobile = f"06 {10 + i // 100:02d} {i % 100:02d} {(i * 7) % 100:02d} {(i * 13) % 100:02d}"
            if i == 0:  # the sandbox's test number refused as invalid
                mobile = "+33 6 00 00 00 01"
            elif i % 60 == 30:  # a typing mistake: not a number
                mobile = f"06 {i:02d} 4"
            values.append(
                {"name": name, "mobile": mobile, "country_id": fr.id, "city": "Chamonix", "category_id": [tag.id]}
            )
        partners = env["res.partner"].create(values)
        big = send(env, partners, BODY)
    # one queue run, limited to 120 SMS: the big send is shown on its way
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        env["ir.config_parameter"].set_param("sms_gateway.max_per_run", 120)
        env["ir.config_parameter"].set_param("sms_gateway.batch_size", 40)
    with registry.cursor() as cr:
        api.Environment(cr, SUPERUSER_ID, {})["sms.sms"]._process_queue()
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        env["ir.config_parameter"].search(
            [("key", "in", ("sms_gateway.max_per_run", "sms_gateway.batch_size"))]
        ).unlink()
    # three small sends to the demo contacts (one has the sandbox's refused number), sent at once; the last one
    # also to the sandbox's "out of credit" and "account refused" numbers
    for body, extra in SMALL_SENDS:
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            demo = env["res.partner"].search([("id", "in", [env.ref(x).id for x in DEMO_CONTACTS])])
            others = env["res.partner"].create(
                [{"name": name, "mobile": mobile, "country_id": env.ref("base.fr").id} for name, mobile in extra]
            )
            small = send(env, demo | others, body)
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["sms.sms"]._process_queue(ids=env["sms.send.batch"].browse(small).sms_ids.ids)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        account = env.ref("sms_gateway.sms_gateway_account_sandbox_demo")
        account.action_test_connection()
        cr.execute("SELECT state, COUNT(*) FROM sms_sms GROUP BY state ORDER BY state")
        print("SMS by state:", dict(cr.fetchall()))
        print(f"ids: batch={big} account={account.id}", flush=True)


def send(env, partners, body):
    """Contacts > Action > Send SMS as admin, in mass mode: the id of the send (``sms.send.batch``)."""
    composer = (
        env["sms.composer"]
        .with_user(env.ref("base.user_admin"))
        .with_context(
            active_model="res.partner",
            active_ids=partners.ids,
            default_composition_mode="mass",
            default_mass_keep_log=True,
            default_res_ids=partners.ids,
        )
        .create({"body": body})
    )
    composer.action_send_sms()
    return composer.sms_send_batch_id.id


def wait_http(url, proc, seconds=180):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Odoo stopped (exit code {proc.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise RuntimeError(f"{url} did not answer in {seconds} s")


def shoot(base, out, batch_id, account_id):
    from playwright.sync_api import sync_playwright

    blocked = []

    def only_local(route):
        host = urllib.parse.urlsplit(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host == HOST:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-features=Translate,OptimizationHints,MediaRouter",
            ],
        )
        context = browser.new_context(viewport=VIEWPORT, locale="fr-FR", timezone_id="Europe/Paris")
        context.route("**/*", only_local)
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))

        page.goto(f"{base}/web/login")
        page.fill("input[name=login]", "admin")
        page.fill("input[name=password]", "admin")
        page.click("button[type=submit]")
        page.wait_for_selector(".o_main_navbar")

        def settle():
            page.wait_for_load_state("load")
            page.wait_for_timeout(1500)
            if page.locator(".o_error_dialog").count():
                raise RuntimeError(f"error dialog on {page.url}: {page.locator('.o_error_dialog').inner_text()}")

        def save(name, locator=None):
            settle()
            path = os.path.join(out, name)
            (locator or page).screenshot(path=path)
            print(f"wrote {os.path.relpath(path, REPO)}", flush=True)

        # Send SMS recap: Contacts (list), select all, Actions > Send SMS, a message typed
        page.goto(f"{base}/odoo/contacts?view_type=list")
        page.wait_for_selector(".o_list_view .o_data_row")
        settle()
        page.locator("thead .o_list_record_selector input").check()
        select_all = page.locator(".o_list_select_domain")
        if select_all.count():
            select_all.first.click()
        settle()
        page.locator(".o_cp_action_menus button").first.click()
        page.locator(".o-dropdown--menu .o-dropdown-item", has_text="SMS").first.click()
        dialog = page.locator(".modal-dialog").last
        dialog.wait_for()
        body = dialog.locator("div[name=body] textarea").first
        body.click()
        body.press_sequentially(RECAP_BODY, delay=15)
        body.blur()
        page.wait_for_timeout(1500)
        save("recap.png", dialog.locator(".modal-content"))
        page.keyboard.press("Escape")

        # a send on its way
        page.goto(f"{base}/odoo/action-sms_gateway.sms_send_batch_action/{batch_id}")
        page.wait_for_selector(".o_form_view .o_form_sheet")
        save("send_progress.png")

        # History, filter In error
        page.goto(f"{base}/odoo/action-sms_gateway.sms_sms_action_history")
        page.wait_for_selector(".o_list_view .o_data_row")
        page.locator(".o_searchview_dropdown_toggler").click()
        page.locator(".o_filter_menu .o-dropdown-item", has_text="En erreur").click()
        page.locator(".o_searchview_dropdown_toggler").click()  # close the panel
        page.wait_for_selector(".o_searchview_facet")
        save("history_errors.png")

        # Credits ledger
        page.goto(f"{base}/odoo/action-sms_gateway.sms_credit_move_action")
        page.wait_for_selector(".o_list_view .o_data_row")
        save("credits.png")

        # the provider account form
        page.goto(f"{base}/odoo/action-sms_gateway.sms_gateway_account_action/{account_id}")
        page.wait_for_selector(".o_form_view .o_form_sheet")
        save("account_form.png")

        browser.close()
    if errors:
        print("JavaScript errors:", *errors, sep="\n  ")
    if blocked:
        print("Requests to other hosts, aborted:", *sorted(set(blocked)), sep="\n  ")
    return not errors


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=OUT, help="folder of the PNG files (default: static/description)")
    parser.add_argument("--db", default=f"sms_gateway_screenshots_{os.getpid()}")
    parser.add_argument("--keep", action="store_true", help="keep the database (and print its name)")
    parser.add_argument("--populate", metavar="DB", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.populate:
        populate(args.populate)
        return 0

    db, port = args.db, free_port()
    server = None
    subprocess.run(["dropdb", "-h", HOST, "--if-exists", db], check=False)
    try:
        print(f"Creating {db} (sms_gateway, demo data, French)...", flush=True)
        subprocess.run(
            odoo_command(db, "-i", "sms_gateway", "--load-language", "fr_FR", "--stop-after-init",
                         "--http-interface", HOST, "--http-port", str(port)),
            check=True,
            env=NO_NETWORK,
        )  # fmt: skip
        output = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--populate", db],
            check=True,
            stdout=subprocess.PIPE,
            text=True,
            env=NO_NETWORK,
        ).stdout
        print(output, end="")
        ids = dict(item.split("=") for item in output.split("ids: ")[1].split())
        server = subprocess.Popen(
            odoo_command(db, "--http-interface", HOST, "--http-port", str(port), "--max-cron-threads", "0",
                         "--workers", "0"),
            env=NO_NETWORK,
        )  # fmt: skip
        base = f"http://{HOST}:{port}"
        wait_http(f"{base}/web/login", server)
        ok = shoot(base, args.out, int(ids["batch"]), int(ids["account"]))
        return 0 if ok else 1
    finally:
        if server:
            server.terminate()
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()
        if args.keep:
            print(f"database kept: {db}")
        else:
            subprocess.run(["dropdb", "-h", HOST, "--if-exists", "--force", db], check=False)


if __name__ == "__main__":
    sys.exit(main())
