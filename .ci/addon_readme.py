"""Generate, or check, the addon's README.rst and static/description/index.html from sms_gateway/readme/.

``make readme`` runs OCA's generator, ``oca-gen-addon-readme`` (from OCA's maintainer-tools, which is not published
on PyPI: install it from its repository, with pandoc for the Markdown fragments), the way OCA repositories run it.

``--check`` (a pre-commit hook) needs no generator: it recomputes the source digest that oca-gen-addon-readme writes
into README.rst (sha256 of the manifest and of every file under readme/) and tells when README.rst is older than its
sources. Where the generator is installed it regenerates the files instead, as OCA's own hook does (pre-commit then
reports the files it changed); elsewhere a stale README is reported without failing, since it cannot be fixed there.
"""

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADDON = "sms_gateway"
ADDON_DIR = os.path.join(REPO, ADDON)
README = os.path.join(ADDON_DIR, "README.rst")
INDEX = os.path.join(ADDON_DIR, "static", "description", "index.html")
GENERATOR = "oca-gen-addon-readme"
GENERATOR_ARGS = ["--org-name=sms-gateway", "--repo-name=sms_gateway", "--branch=18.0", f"--addon-dir={ADDON}"]
DIGEST = re.compile(r"!! source digest: (sha256:[0-9a-f]+)")
MISSING = (
    f"{GENERATOR} is not installed: it comes with OCA's maintainer-tools (not on PyPI, install it from its "
    "repository) and needs pandoc for the Markdown fragments."
)


def source_digest():
    """The digest oca-gen-addon-readme computes: file names (relative to the addon) and contents of the manifest,
    then of the files under readme/ (folders and files in sorted order, hidden files skipped)."""
    paths = ["__manifest__.py"]
    for folder, subfolders, files in os.walk(os.path.join(ADDON_DIR, "readme")):
        subfolders.sort()
        relative = os.path.relpath(folder, ADDON_DIR)
        paths += [os.path.join(relative, name) for name in sorted(files) if not name.startswith(".")]
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.encode())
        with open(os.path.join(ADDON_DIR, path), "rb") as f:
            digest.update(f.read())
    return f"sha256:{digest.hexdigest()}"


def readme_digest():
    if not os.path.isfile(README):
        return None
    with open(README, encoding="utf-8") as f:
        match = DIGEST.search(f.read())
    return match and match.group(1)


def generate(extra_args=()):
    generator = shutil.which(GENERATOR)
    if not generator:
        sys.exit(MISSING)
    return subprocess.run([generator, *GENERATOR_ARGS, *extra_args], cwd=REPO, check=False).returncode


def check():
    problems = []
    if readme_digest() != source_digest():
        problems.append(f"{ADDON}/README.rst is older than {ADDON}/readme/ or the manifest")
    if not os.path.isfile(INDEX) or GENERATOR.encode() not in open(INDEX, "rb").read():
        problems.append(f"{ADDON}/static/description/index.html is missing or not generated from README.rst")
    if not problems:
        return 0
    if shutil.which(GENERATOR):
        generate()
        return 1
    print(f"Warning: {'; '.join(problems)}: run make readme where {GENERATOR} is installed.")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="check (regenerate where the generator is installed)")
    args = parser.parse_args()
    return check() if args.check else generate()


if __name__ == "__main__":
    sys.exit(main())
