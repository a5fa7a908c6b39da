"""Tell whether Odoo 18.0 is importable and print the addons path to use with this repository."""

import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOT_INSTALLED = (
    "Odoo 18.0 is not installed for {python}: install it first "
    "(https://www.odoo.com/documentation/18.0/administration/on_premise/source.html), then run this again."
)


def main():
    try:
        import odoo.release
        from odoo.tools import config
    except ImportError:
        print(NOT_INSTALLED.format(python=sys.executable), file=sys.stderr)
        return 1
    if odoo.release.version_info[:2] != (18, 0):
        print(f"Odoo 18.0 is required, found Odoo {odoo.release.version}.", file=sys.stderr)
        return 1
    config.parse_config([])
    print(",".join([config["addons_path"], REPO]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
