"""Make the machine ready for make demo / make test, installing only what is missing.

``--requirements FILE`` (repeatable): when a package listed there (or in the files it includes with ``-r``) is not
installed for this Python, or not at the version pinned there, runs ``python -m pip install -r FILE`` once, quietly.
``--postgres``: when PostgreSQL does not answer on 127.0.0.1, starts the local cluster with Debian's
``pg_ctlcluster`` (as .ci/run does on CI) and waits for it; where that is not possible, stops with one sentence.

Odoo itself is never installed here: the Makefile checks it first (.ci/odoo_env.py).
"""

import argparse
import glob
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PG_HOST = "127.0.0.1"


def requirements(path):
    """(name, pinned version or None) for every requirement of a requirements file and its -r includes."""
    found = []
    with open(path) as f:
        for raw in f:
            line = raw.split("#")[0].strip()
            if line.startswith("-r"):
                found += requirements(os.path.join(os.path.dirname(path), line[2:].strip()))
            elif line and not line.startswith("-"):
                match = re.match(r"([A-Za-z0-9._-]+)\s*(?:==\s*([^;\s]+))?", line)
                found.append((match.group(1), match.group(2)))
    return found


def missing_requirements(path):
    missing = []
    for name, pinned in requirements(path):
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
            continue
        if pinned and version != pinned:
            missing.append(f"{name}=={pinned} (found {version})")
    return missing


def ensure_requirements(path):
    missing = missing_requirements(path)
    if not missing:
        return
    print(f"Installing {os.path.relpath(path, REPO)} (missing: {', '.join(missing)})", flush=True)
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", path]
    if subprocess.run(command, check=False).returncode:
        sys.exit(
            f"Could not install {os.path.relpath(path, REPO)} with pip for {sys.executable}: see pip's output above."
        )


def postgres_answers():
    if not shutil.which("pg_isready"):
        sys.exit(
            "PostgreSQL's client tools (pg_isready, createdb, dropdb) are not installed: install PostgreSQL first."
        )
    return subprocess.run(["pg_isready", "-q", "-h", PG_HOST], check=False).returncode == 0


def ensure_postgres():
    if postgres_answers():
        return
    clusters = glob.glob("/etc/postgresql/*/main")
    versions = sorted(
        (os.path.basename(os.path.dirname(c)) for c in clusters), key=lambda v: [int(n) for n in re.findall(r"\d+", v)]
    )
    if not shutil.which("pg_ctlcluster") or not versions:
        sys.exit(f"PostgreSQL does not answer on {PG_HOST} and there is no local Debian cluster to start: start it.")
    version = versions[-1]
    print(f"Starting PostgreSQL {version} (pg_ctlcluster {version} main start)", flush=True)
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"]
    if subprocess.run(command, check=False).returncode:
        sys.exit(
            f"PostgreSQL {version} did not start (pg_ctlcluster {version} main start): start it, then run this again."
        )
    for _ in range(30):
        if postgres_answers():
            return
        time.sleep(1)
    sys.exit(f"PostgreSQL {version} was started but does not answer on {PG_HOST} after 30 s.")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requirements", "-r", action="append", default=[], help="requirements file")
    parser.add_argument("--postgres", action="store_true", help="start PostgreSQL when it does not answer")
    args = parser.parse_args()
    for path in args.requirements:
        ensure_requirements(os.path.join(REPO, path))
    if args.postgres:
        ensure_postgres()


if __name__ == "__main__":
    main()
