"""Run the Odoo tests of sms_gateway on a throwaway database and summarise them.

Fails on any failed test, any error, and any WARNING/ERROR/CRITICAL line in Odoo's log (as OCA's CI does).
The last line printed is ``N passed, N failed``.
"""

import argparse
import os
import re
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOG_PROBLEM = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ (WARNING|ERROR|CRITICAL) ")
RESULT = re.compile(r"(\d+) failed, (\d+) error\(s\) of (\d+) tests")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--addons-path", required=True)
    parser.add_argument("--modules", default="sms_gateway,base_automation")
    parser.add_argument("--test-tags", default="/sms_gateway")
    parser.add_argument("--db", default=f"sms_gateway_test_{os.getpid()}")
    parser.add_argument("--log", default=os.path.join(REPO, "odoo-test.log"))
    # 8169 leaves 8069 to make demo; another port lets two test runs share a machine
    parser.add_argument("--http-port", default=os.environ.get("SMS_GATEWAY_TEST_PORT", "8169"))
    args = parser.parse_args()

    subprocess.run(["dropdb", "--if-exists", args.db], check=False)
    command = [
        sys.executable,
        "-m",
        "odoo",
        "--db_host=127.0.0.1",
        "--database",
        args.db,
        "--addons-path",
        args.addons_path,
        "--init",
        args.modules,
        "--test-enable",
        "--test-tags",
        args.test_tags,
        "--stop-after-init",
        "--http-port",
        str(args.http_port),
        "--workers",
        "0",
        "--max-cron-threads",
        "0",
        "--log-level",
        "info",
        "--without-demo",
        "all",
    ]
    started = time.monotonic()
    try:
        with open(args.log, "w") as log:
            code = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=False).returncode
    finally:
        subprocess.run(["dropdb", "--if-exists", args.db], check=False)
    elapsed = time.monotonic() - started

    problems, failed, errors, total = [], 0, 0, 0
    with open(args.log) as log:
        for line in log:
            if LOG_PROBLEM.match(line):
                problems.append(line.rstrip())
            for match in RESULT.finditer(line):
                f, e, t = map(int, match.groups())
                failed, errors, total = failed + f, errors + e, total + t
    for line in problems[:50]:
        print(line)
    if problems:
        print(f"{len(problems)} warning/error line(s) in the Odoo log ({args.log})")
    print(f"Odoo exited with {code} after {elapsed:.0f} s; full log in {args.log}")
    bad = failed + errors
    print(f"{total - bad} passed, {bad} failed")
    return 1 if (code or bad or problems or not total) else 0


if __name__ == "__main__":
    sys.exit(main())
