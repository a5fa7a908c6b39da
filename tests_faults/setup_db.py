"""Prepare a fault-suite database: one company, one Twilio account (pointed at the emulator later), credit and
``--count`` queued SMS to distinct numbers with distinct bodies. Odoo used as a library."""

import argparse


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--addons-path", required=True)
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    from odoo import SUPERUSER_ID, api
    from odoo.modules.registry import Registry
    from odoo.tools import config

    config.parse_config(["--db_host=127.0.0.1", "-d", args.db, "--addons-path", args.addons_path, "--log-level=warn"])
    registry = Registry(args.db)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
        company = env.ref("base.main_company")
        company.country_id = env.ref("base.fr")
        env["sms.gateway.account"].create(
            {
                "name": "Twilio (emulator)",
                "provider": "twilio",
                "company_id": company.id,
                "username": "AC" + "0" * 31 + "1",
                "password": "twilio-token",
                "sender": "+15005550006",
                "base_url": "http://127.0.0.1:9",  # set to the emulator by each scenario
                "timeout": 1.0,
                "max_concurrency": args.concurrency,
            }
        )
        env["sms.credit.move"].create({"company_id": company.id, "move_type": "topup", "quantity": 2 * args.count})
        params = env["ir.config_parameter"]
        for key, value in {
            "batch_size": 100,
            "max_attempts": 12,
            "retry_delay": 0.5,
            "account_cooldown": 0.5,
            "interrupted_after": 1,
        }.items():
            params.set_param(f"sms_gateway.{key}", value)
        env["sms.sms"].create(
            [
                {"number": f"+3361{i:07d}", "body": f"Fault suite message {i}", "company_id": company.id}
                for i in range(args.count)
            ]
        )
        cr.execute("SELECT state, COUNT(*) FROM sms_sms GROUP BY state")
        print(dict(cr.fetchall()))


if __name__ == "__main__":
    main()
