"""A dispatch worker: Odoo used as a library, ``sms.sms._process_queue()`` in a loop (auto-commit), as the
SMS queue cron does, until nothing is left to send or ``--seconds`` passed.

    python3 tests_faults/driver.py --db DB --addons-path PATH [--lookup] [--seconds 120]

``--lookup`` gives the Twilio connector a reconciliation lookup (Twilio's list-messages API, filtered on the
number) so that SMS interrupted by a crash are reconciled with the provider instead of flagged.
"""

import argparse
import logging
import time
import urllib.parse


def twilio_lookup(connector, messages):
    """{ref: sid} for the messages Twilio has, {ref: False} for those it definitely has not."""
    found = {}
    for message in messages:
        url = connector._account_url("Messages.json") + "?" + urllib.parse.urlencode({"To": message.number})
        response, error = connector._request("GET", url, auth=(connector.account_sid, connector.auth_token))
        if error or response.status_code != 200:
            continue  # unknown: flagged for a manager
        sids = [m["sid"] for m in (response.json().get("messages") or []) if m.get("body") == message.body]
        found[message.ref] = sids[0] if sids else False
    return found


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--addons-path", required=True)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--lookup", action="store_true")
    args = parser.parse_args()

    import odoo
    from odoo import SUPERUSER_ID, api
    from odoo.modules.registry import Registry
    from odoo.tools import config

    config.parse_config(["--db_host=127.0.0.1", "-d", args.db, "--addons-path", args.addons_path, "--log-level=warn"])
    odoo.netsvc.init_logger()
    logging.getLogger("odoo.addons.sms_gateway").setLevel(logging.WARNING)
    if args.lookup:
        from odoo.addons.sms_gateway.providers.twilio import TwilioProvider

        TwilioProvider.lookup = twilio_lookup
    registry = Registry(args.db)
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["sms.sms"]._process_queue()
            cr.execute("SELECT COUNT(*) FROM sms_sms WHERE state IN ('outgoing', 'process')")
            left = cr.fetchone()[0]
        if not left:
            break
        time.sleep(0.2)  # retries and cool-downs not due yet, or another worker's claims


if __name__ == "__main__":
    main()
