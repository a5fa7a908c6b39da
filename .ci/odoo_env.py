"""Tell whether Odoo 18.0 is importable and print the addons path to use with this repository.

``addons_path()`` is the one place that path is computed: the Makefile, ``bench/`` and ``tests_faults/``
all take it from here.
"""

import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOT_INSTALLED = (
    "Odoo 18.0 is not installed for {python}: install it first "
    "(https://www.odoo.com/documentation/18.0/administration/on_premise/source.html), then run this again."
)


def addons_path():
    """Odoo's own addons folders followed by this repository, comma-separated; exits with one sentence
    when Odoo 18.0 is not importable. Computed in a child process: parsing Odoo's configuration here would
    reset the caller's own (log level...)."""
    done = subprocess.run([sys.executable, os.path.abspath(__file__)], capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(done.stderr.strip())
    return done.stdout.strip()


def _compute_addons_path():
    try:
        import odoo.release
        from odoo.tools import config
    except ImportError:
        sys.exit(NOT_INSTALLED.format(python=sys.executable))
    if odoo.release.version_info[:2] != (18, 0):
        sys.exit(f"Odoo 18.0 is required, found Odoo {odoo.release.version}.")
    config.parse_config([])
    return ",".join(dict.fromkeys([*config["addons_path"].split(","), REPO]))


if __name__ == "__main__":
    print(_compute_addons_path())
