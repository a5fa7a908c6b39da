"""One step of the install suite on a database, with Odoo used as a library (any version of the addon: the
steps only use what 18.0.1.0.0 already had). Prints one JSON line with what the step found.

    python3 tests_install/odoo_run.py --db DB --addons-path PATH fill|dispatch|uninstall
"""

import argparse
import json
from datetime import datetime, timedelta


def fill(env):
    """What a database in use holds: two companies, accounts with credentials, a ledger with top-ups, an
    adjustment and reservations, SMS sent, failed, queued and interrupted, and settings."""
    france = env.ref("base.fr")
    company_a = env.ref("base.main_company")
    company_a.write({"country_id": france.id, "name": "Mairie A"})
    company_b = env["res.company"].create({"name": "Département B", "country_id": france.id})
    Account = env["sms.gateway.account"]
    Account.create({"name": "Sandbox A", "provider": "sandbox", "company_id": company_a.id, "sender": "MAIRIEA"})
    Account.create({"name": "Sandbox B", "provider": "sandbox", "company_id": company_b.id, "sequence": 20})
    # real providers with credentials, never reached: inactive, and on a closed loopback port
    Account.create(
        {
            "name": "ASPSMS A",
            "provider": "aspsms",
            "company_id": company_a.id,
            "username": "ASPSMS-USERKEY-1",
            "password": "aspsms-secret-1",
            "sender": "MAIRIEA",
            "base_url": "http://127.0.0.1:9",
            "active": False,
            "credits_per_segment": 2,
        }
    )
    Account.create(
        {
            "name": "Twilio B",
            "provider": "twilio",
            "company_id": company_b.id,
            "username": "AC" + "0" * 31 + "7",
            "password": "twilio-token-7",
            "service_id": "MG" + "0" * 31 + "7",
            "base_url": "http://127.0.0.1:9",
            "active": False,
            "extra_config": '{"twilio_lookup_days": 2}',
        }
    )
    Move = env["sms.credit.move"]
    Move.create({"company_id": company_a.id, "move_type": "topup", "quantity": 100, "note": "Lot 2026"})
    Move.create({"company_id": company_a.id, "move_type": "adjustment", "quantity": -5, "note": "correction"})
    Move.create({"company_id": company_b.id, "move_type": "topup", "quantity": 50})
    company_a.write(
        {
            "sms_low_balance_threshold": 20,
            "sms_history_retention_days": 365,
            "sms_max_length": 300,
            "sms_optout_mention": "STOP 36608",
            "sms_replace_accents": True,
            "sms_forbid_admin": True,
        }
    )
    env["ir.config_parameter"].set_param("sms_gateway.max_attempts", 3)
    env["res.config.settings"].create({"sms_restrict_sending": True}).execute()
    Users = env["res.users"].with_context(no_reset_password=True)
    internal = env.ref("base.group_user")
    sender = Users.create(
        {
            "name": "Sender",
            "login": "sms_sender",
            "groups_id": [(6, 0, (internal | env.ref("sms_gateway.group_sms_user")).ids)],
        }
    )
    reader = Users.create(
        {
            "name": "Reader",
            "login": "sms_reader",
            "groups_id": [(6, 0, (internal | env.ref("sms_gateway.group_sms_reader")).ids)],
        }
    )
    Sms = env["sms.sms"]
    for i in range(3):
        Sms.create({"number": f"+3361234560{i}", "body": f"Rappel {i}", "company_id": company_a.id})
    Sms.create({"number": "+33600000001", "body": "Refusé", "company_id": company_a.id})  # sandbox: refused
    env.cr.commit()
    Sms._process_queue()  # sends the three, fails the refused one (refunded)
    queued = Sms.create(
        [{"number": f"+3361234570{i}", "body": f"En attente {i}", "company_id": company_a.id} for i in range(2)]
    )
    Sms.create({"number": "+33751234567", "body": "Département", "company_id": company_b.id})
    interrupted = Sms.create({"number": "+33612345800", "body": "Interrompu", "company_id": company_a.id})
    env.cr.commit()
    # what a dispatch run that died after its claim leaves behind
    env.cr.execute(
        "UPDATE sms_sms SET state = 'process', claimed_at = %s, attempt_count = 1 WHERE id = %s",
        (datetime.utcnow() - timedelta(hours=1), interrupted.id),
    )
    env.cr.commit()
    return {"queued": queued.ids, "interrupted": interrupted.id, "sender": sender.id, "reader": reader.id}


def dispatch(env):
    """Queue one more SMS and run the queue: everything queued leaves, the interrupted SMS is flagged."""
    company = env.ref("base.main_company")
    new = env["sms.sms"].create({"number": "+33612345900", "body": "Après la mise à jour", "company_id": company.id})
    env.cr.commit()
    env["sms.sms"]._process_queue()
    env.invalidate_all()
    settings = env["res.config.settings"].create({})
    return {
        "new": new.id,
        "restrict_sending": settings.sms_restrict_sending,
        "balance": company.sms_credit_balance,
    }


def uninstall(env):
    env["ir.module.module"].search([("name", "=", "sms_gateway")]).button_immediate_uninstall()
    env.cr.commit()
    return {"state": env["ir.module.module"].search([("name", "=", "sms_gateway")]).state}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--addons-path", required=True)
    parser.add_argument("step", choices=["fill", "dispatch", "uninstall"])
    args = parser.parse_args()

    from odoo import SUPERUSER_ID, api
    from odoo.modules.registry import Registry
    from odoo.tools import config

    config.parse_config(["--db_host=127.0.0.1", "-d", args.db, "--addons-path", args.addons_path, "--log-level=warn"])
    with Registry(args.db).cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
        print(json.dumps({"fill": fill, "dispatch": dispatch, "uninstall": uninstall}[args.step](env)))


if __name__ == "__main__":
    main()
