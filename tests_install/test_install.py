"""Install suite: real Odoo processes on scratch databases.

* **Upgrade** from the landed 18.0.1.0.0 (checked out from this repository's history in a temporary
  worktree): install it, fill the database as a user would, upgrade to the working tree with
  ``-u sms_gateway``, and check that every SMS, ledger row, balance, credential and setting is intact and
  that the queue still dispatches.
* **Uninstall**: install, fill, uninstall; no table, column, index, cron, group or record of ours is left,
  and Odoo's own SMS suites (IAP path, composer, server actions) pass on that database.

Run with ``make test-install``.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, ".ci"))

from dbtools import psql  # noqa: E402
from odoo_env import addons_path  # noqa: E402

# The last commit of 18.0.1.0.0 that landed on main (the first version integrators installed).
LANDED_18_0_1_0_0 = "d57b6a6a13fc7c7bdbd7a26153c4aa40624126d0"
ADDONS = addons_path()
ODOO_ADDONS = ",".join(path for path in ADDONS.split(",") if os.path.realpath(path) != os.path.realpath(REPO))
PREFIX = f"sms_gateway_install_{os.getpid()}"
STEP = os.path.join(REPO, "tests_install", "odoo_run.py")
RESULT = re.compile(r"(\d+) failed, (\d+) error\(s\) of (\d+) tests")
OUR_TABLES = (
    "sms_gateway_account",
    "sms_credit_move",
    "sms_credit_lock",
    "sms_send_batch",
    "sms_gateway_credit_lock",
    "sms_inbound",
    "sms_gateway_application",
    "sms_gateway_api_request",
    "sms_gateway_callback",
    "sms_usage_daily",
    "sms_gateway_account_share_rel",
)


def odoo(db, addons, *options, log=None):
    """Run Odoo on ``db`` (``--stop-after-init``); return its log, raise when it fails or logs an error."""
    command = [
        sys.executable, "-m", "odoo", "--db_host=127.0.0.1", "-d", db, "--addons-path", addons,
        "--stop-after-init", "--without-demo=all", "--workers", "0", "--max-cron-threads", "0",
        "--http-port", "8077", "--log-level", "info", *options,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    output = done.stdout + done.stderr
    if log:
        with open(log, "w") as file:
            file.write(output)
    problems = [line for line in output.splitlines() if re.search(r"\d \d+ (ERROR|CRITICAL) ", line)]
    if done.returncode or problems:
        raise AssertionError(f"odoo {' '.join(options)} failed ({done.returncode}):\n" + "\n".join(problems[:20]))
    return output


def step(db, addons, name):
    done = subprocess.run(
        [sys.executable, STEP, "--db", db, "--addons-path", addons, name], capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise AssertionError(f"{name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def snapshot(db):
    """What must survive an upgrade, read with SQL (the same queries before and after)."""
    return {
        "sms": psql(
            db,
            """SELECT id, state, failure_type, number, body, company_id, gateway_account_id, credit_charged,
                      credit_move_id, provider_message_id, error_message, attempt_count, sms_segment_count,
                      origin_label, send_batch_id
                 FROM sms_sms ORDER BY id""",
        ),
        "ledger": psql(
            db,
            """SELECT id, company_id, move_type, state, quantity, sms_id, sms_count, reference, note, user_id, date
                 FROM sms_credit_move ORDER BY id""",
        ),
        "balances": psql(db, "SELECT company_id, SUM(quantity) FROM sms_credit_move GROUP BY 1 ORDER BY 1"),
        "accounts": psql(
            db,
            """SELECT id, name, provider, company_id, active, sequence, sender, credits_per_segment, base_url,
                      username, password, api_key, service_id, space_id, timeout, webhook_token, extra_config,
                      max_concurrency
                 FROM sms_gateway_account ORDER BY id""",
        ),
        "company_settings": psql(
            db,
            """SELECT id, sms_low_balance_threshold, sms_history_retention_days, sms_max_length,
                      sms_optout_mention, sms_replace_accents, sms_forbid_admin
                 FROM res_company ORDER BY id""",
        ),
        "parameters": psql(db, "SELECT key, value FROM ir_config_parameter WHERE key LIKE 'sms_gateway.%%' ORDER BY 1"),
        "sms_users": psql(
            db,
            """SELECT r.uid FROM res_groups_users_rel r JOIN ir_model_data d
                   ON d.model = 'res.groups' AND d.res_id = r.gid AND d.module = 'sms_gateway'
                      AND d.name = 'group_sms_user' ORDER BY 1""",
        ),
    }


class TestInstall(unittest.TestCase):
    def setUp(self):
        self.started = time.monotonic()
        self.db = f"{PREFIX}_{self._testMethodName[5:]}"[:63]
        subprocess.run(["dropdb", "-h", "127.0.0.1", "--if-exists", self.db], check=False)
        self.addCleanup(subprocess.run, ["dropdb", "-h", "127.0.0.1", "--if-exists", self.db], check=False)

    def tearDown(self):
        print(f"{self._testMethodName}: {time.monotonic() - self.started:.0f} s")

    def landed_addons(self):
        """An addons path with the landed 18.0.1.0.0 of the addon, checked out in a temporary worktree."""
        folder = tempfile.mkdtemp(prefix="sms_gateway_18.0.1.0.0_")
        subprocess.run(["git", "-C", REPO, "worktree", "add", "--detach", "-q", folder, LANDED_18_0_1_0_0], check=True)
        self.addCleanup(subprocess.run, ["git", "-C", REPO, "worktree", "remove", "--force", folder], check=False)
        return f"{ODOO_ADDONS},{folder}"

    def test_upgrade_from_18_0_1_0_0(self):
        old = self.landed_addons()
        odoo(self.db, old, "-i", "sms_gateway")
        self.assertEqual(psql(self.db, "SELECT latest_version FROM ir_module_module WHERE name = 'sms_gateway'"),
                         [("18.0.1.0.0",)])  # fmt: skip
        filled = step(self.db, old, "fill")
        before = snapshot(self.db)
        self.assertEqual(len(before["sms"]), 8)
        self.assertTrue(any(row[10] for row in before["accounts"]), "credentials were stored")

        odoo(self.db, ADDONS, "-u", "sms_gateway", log=os.path.join(REPO, "odoo-upgrade.log"))
        with open(os.path.join(REPO, "sms_gateway", "__manifest__.py")) as manifest:
            version = re.search(r'"version": "([^"]+)"', manifest.read()).group(1)
        self.assertEqual(psql(self.db, "SELECT latest_version FROM ir_module_module WHERE name = 'sms_gateway'"),
                         [(version,)])  # fmt: skip
        after = snapshot(self.db)
        for part, rows in before.items():
            self.assertEqual(after[part], rows, f"{part} changed by the upgrade")
        tables = {row[0] for row in psql(self.db, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        self.assertNotIn("sms_gateway_credit_lock", tables, "the raw-SQL lock table of 18.0.1.0.0 is gone")
        self.assertIn("sms_credit_lock", tables)

        # the queue still dispatches: the queued SMS leave, the interrupted one is flagged, the ledger settles
        # need-to-know (18.0.1.2.0): a sender keeps sending but no longer reads the whole history
        readers = {
            row[0]
            for row in psql(
                self.db,
                """SELECT r.uid FROM res_groups_users_rel r JOIN ir_model_data d ON d.res_id = r.gid
                    WHERE d.model = 'res.groups' AND d.module = 'sms_gateway' AND d.name = 'group_sms_reader'""",
            )
        }
        self.assertIn(filled["reader"], readers)
        self.assertNotIn(filled["sender"], readers)
        self.assertIn(filled["sender"], {row[0] for row in after["sms_users"]})
        self.assertIn(2, readers, "the administrator (an SMS manager) still reads the history")

        dispatched = step(self.db, ADDONS, "dispatch")
        self.assertTrue(dispatched["restrict_sending"], "Restrict SMS sending survived the upgrade")
        states = dict(psql(self.db, "SELECT id, state FROM sms_sms"))
        for sms_id in [*filled["queued"], dispatched["new"]]:
            self.assertEqual(states[sms_id], "pending", f"SMS {sms_id} sent after the upgrade")
        self.assertEqual(
            psql(self.db, "SELECT state, failure_type FROM sms_sms WHERE id = %s", (filled["interrupted"],)),
            [("error", "sms_interrupted")],
        )
        self.assertEqual(psql(self.db, "SELECT COUNT(*) FROM sms_credit_move WHERE state = 'reserved'"), [(0,)])
        # main company: 100 - 5, then 3 + 2 + 1 sent (the refused and the interrupted ones refunded)
        self.assertEqual(dispatched["balance"], 100 - 5 - 6)

    def test_uninstall_leaves_stock_sms(self):
        odoo(self.db, ADDONS, "-i", "sms_gateway")
        step(self.db, ADDONS, "fill")
        self.assertEqual(step(self.db, ADDONS, "uninstall"), {"state": "uninstalled"})

        tables = {row[0] for row in psql(self.db, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        self.assertFalse(tables & set(OUR_TABLES), "no table of ours is left")
        ours = psql(
            self.db,
            """SELECT table_name, column_name FROM information_schema.columns
                WHERE (table_name = 'sms_sms' AND column_name IN ('gateway_account_id', 'credit_charged',
                       'credit_move_id', 'claimed_at', 'attempt_count', 'send_batch_id', 'origin_label'))
                   OR (table_name = 'res_company' AND column_name LIKE 'sms_%%')""",
        )
        self.assertFalse(ours, "our columns are dropped")
        indexes = psql(
            self.db,
            "SELECT indexname FROM pg_indexes WHERE indexname LIKE 'sms_%%gateway%%' OR indexname LIKE 'sms_credit%%'",
        )
        self.assertFalse(indexes, "our indexes are dropped")
        # no record of ours (crons, groups, rules, menus, views, parameters...) nor model
        self.assertEqual(psql(self.db, "SELECT COUNT(*) FROM ir_model_data WHERE module = 'sms_gateway'"), [(0,)])
        self.assertEqual(
            psql(
                self.db, "SELECT COUNT(*) FROM ir_model WHERE model LIKE 'sms.gateway%%' OR model LIKE 'sms.credit%%'"
            ),
            [(0,)],
        )

        # stock Odoo SMS on that database: Odoo's own suites (IAP path, composer, templates, server actions)
        output = odoo(
            self.db, ODOO_ADDONS, "-i", "test_mail_sms", "--test-enable", "--test-tags", "/sms,/test_mail_sms",
            log=os.path.join(REPO, "odoo-uninstall.log"),
        )  # fmt: skip
        failed = errors = total = 0
        for match in RESULT.finditer(output):
            f, e, t = map(int, match.groups())
            failed, errors, total = failed + f, errors + e, total + t
        print(f"stock SMS suites after uninstall: {total - failed - errors} passed, {failed + errors} failed")
        self.assertGreater(total, 50)
        self.assertEqual((failed, errors), (0, 0))


if __name__ == "__main__":
    unittest.main()
