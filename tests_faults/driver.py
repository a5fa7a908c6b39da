"""A dispatch worker: Odoo used as a library, ``sms.sms._process_queue()`` in a loop (auto-commit), as the
SMS queue cron does, until nothing is left to send or ``--seconds`` passed.

    python3 tests_faults/driver.py --db DB --addons-path PATH [--lookup] [--seconds 120]

``--lookup`` says the account can reconcile with the provider: the Twilio connector's own ``lookup`` (the
list-messages API) tells which SMS interrupted by a crash Twilio got. Without it, ``lookup`` is disabled (returns
``{}``, as for a provider that cannot be asked) and interrupted SMS are flagged instead.
"""

import argparse
import logging
import os
import time


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
    logging.getLogger("odoo.addons.sms_gateway").setLevel(
        logging.INFO if os.environ.get("SMS_FAULTS_VERBOSE") else logging.WARNING
    )
    if not args.lookup:
        from odoo.addons.sms_gateway.providers.twilio import TwilioProvider

        TwilioProvider.lookup = lambda connector, messages: {}  # an account without lookup
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
