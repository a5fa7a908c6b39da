"""Build the addon's wheel with whool (as OCA publishes addons) and check what an integrator would install.

Checks: the file name (odoo_addon_sms_gateway-<manifest version>[.N]-py3-none-any.whl: whool appends the number
of commits since the manifest's version changed, as in OCA's published wheels); the addon under
odoo/addons/sms_gateway with every file the manifest loads, the translations, the icon, the README and
index.html, the migrations; nothing that git does not track (no __pycache__, no pyproject.toml); METADATA
declaring Odoo 18.0 and the Python dependencies of requirements.txt. Then installs it twice: with
``pip install --target`` (files land in odoo/addons/sms_gateway), and, when Odoo 18.0 is importable, in a
virtualenv beside Odoo where Odoo must find the addon without any --addons-path. About 15 seconds.
"""

import ast
import email.parser
import os
import re
import subprocess
import sys
import tempfile
import zipfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADDON = "sms_gateway"
ADDON_DIR = os.path.join(REPO, ADDON)
PREFIX = f"odoo/addons/{ADDON}/"
ALWAYS = [
    "__init__.py",
    "__manifest__.py",
    "README.rst",
    "i18n/fr.po",
    f"i18n/{ADDON}.pot",
    "static/description/icon.png",
    "static/description/index.html",
    "static/description/recap.png",
]
FORBIDDEN = re.compile(r"(^|/)(__pycache__|\.git\w*|pyproject\.toml|PKG-INFO|build|dist)(/|$)|\.py[co]$")


def run(command, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    if result.returncode:
        sys.exit(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def requirement_names(path):
    with open(path) as f:
        lines = [line.split("#")[0].strip() for line in f]
    return {re.split(r"[<>=!~\[; ]", line)[0].lower() for line in lines if line and not line.startswith("-")}


def expected_files(manifest):
    files = set(ALWAYS) | set(manifest.get("data", [])) | set(manifest.get("demo", []))
    tracked = run(["git", "ls-files"], cwd=ADDON_DIR).split()
    files |= {f for f in tracked if f.startswith(("migrations/", "static/src/", "views/", "security/"))}
    return files


def check_wheel(path, manifest, problems):
    version = manifest["version"]
    name = os.path.basename(path)
    if not re.fullmatch(rf"odoo_addon_{ADDON}-{re.escape(version)}(\.\d+|\.99\.dev\d+)?-py3-none-any\.whl", name):
        problems.append(f"unexpected wheel name {name} (manifest version {version})")
    with zipfile.ZipFile(path) as wheel:
        names = wheel.namelist()
        metadata_name = next((n for n in names if n.endswith(".dist-info/METADATA")), None)
        metadata = email.parser.Parser().parsestr(wheel.read(metadata_name).decode()) if metadata_name else {}
    outside = [n for n in names if not n.startswith(PREFIX) and ".dist-info/" not in n]
    if outside:
        problems.append(f"files outside {PREFIX}: {outside[:5]}")
    content = {n[len(PREFIX) :] for n in names if n.startswith(PREFIX)}
    missing = sorted(expected_files(manifest) - content)
    if missing:
        problems.append(f"missing from the wheel: {missing}")
    junk = sorted(n for n in content if FORBIDDEN.search(n))
    if junk:
        problems.append(f"should not be in the wheel: {junk}")

    if metadata.get("Name") != f"odoo-addon-{ADDON}":
        problems.append(f"METADATA Name is {metadata.get('Name')!r}")
    requires = metadata.get_all("Requires-Dist") or [] if metadata else []
    if not any(re.fullmatch(r"odoo\s*(==\s*18\.0\.\*|>=\s*18\.0a?\s*,\s*<\s*18\.1dev)", r) for r in requires):
        problems.append(f"METADATA does not require Odoo 18.0: {requires}")
    declared = {re.split(r"[<>=!~\[; ]", r)[0].lower() for r in requires} - {"odoo"}
    wanted = requirement_names(os.path.join(REPO, "requirements.txt"))
    external = {n.lower() for n in manifest.get("external_dependencies", {}).get("python", [])}
    if not (declared == wanted == external):
        problems.append(
            f"Python dependencies differ: wheel {sorted(declared)}, requirements.txt {sorted(wanted)}, "
            f"manifest external_dependencies {sorted(external)}"
        )
    return names, metadata


def check_installs(path, tmp, problems):
    target = os.path.join(tmp, "target")
    run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", target, path])
    if not os.path.isfile(os.path.join(target, PREFIX, "__manifest__.py")):
        problems.append(f"pip install --target did not create {PREFIX}__manifest__.py")
    try:
        import odoo.release
    except ImportError:
        print("Odoo is not importable: skipped the install beside Odoo.")
        return
    if odoo.release.version_info[:2] != (18, 0):
        print(f"Odoo {odoo.release.version} is not 18.0: skipped the install beside Odoo.")
        return
    venv = os.path.join(tmp, "venv")
    run([sys.executable, "-m", "venv", "--system-site-packages", venv])
    python = os.path.join(venv, "bin", "python")
    run([python, "-m", "pip", "install", "--quiet", "--no-deps", path])
    # what odoo-bin does at start-up with its default addons path: does it find the addon, as an application?
    probe = (
        "from odoo.tools import config; config.parse_config([]); from odoo.modules import module; "
        "module.initialize_sys_path(); print(module.get_module_path('sms_gateway')); "
        "print(module.get_manifest('sms_gateway').get('application'))"
    )
    found = run([python, "-c", probe], cwd=tmp).split()
    expected = os.path.join(venv, "lib")
    if len(found) != 2 or not found[0].startswith(expected) or found[1] != "True":
        problems.append(f"Odoo in a virtualenv does not find the installed addon as an application: {found}")


def main():
    try:
        import whool  # noqa: F401
    except ImportError:
        sys.exit("whool is not installed: python3 -m pip install -r requirements-dev.txt")
    with open(os.path.join(ADDON_DIR, "__manifest__.py")) as f:
        manifest = ast.literal_eval(f.read())
    untracked = run(["git", "ls-files", "--others", "--exclude-standard"], cwd=ADDON_DIR).split()
    if untracked:
        print(f"Note: files git does not track are not packaged: {untracked}")
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        dist = os.path.join(tmp, "dist")
        # --no-build-isolation: whool comes from requirements-dev.txt instead of a fresh download per build
        run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--quiet",
                "--no-deps",
                "--no-build-isolation",
                "-w",
                dist,
                ADDON_DIR,
            ]
        )
        wheels = os.listdir(dist)
        if len(wheels) != 1:
            sys.exit(f"expected one wheel, got {wheels}")
        path = os.path.join(dist, wheels[0])
        names, metadata = check_wheel(path, manifest, problems)
        check_installs(path, tmp, problems)
        size = os.path.getsize(path)
    for problem in problems:
        print(f"FAIL: {problem}")
    requires = ", ".join(metadata.get_all("Requires-Dist") or []) if metadata else ""
    print(f"{wheels[0]}: {size / 1024:.0f} KiB, {len(names)} files, Requires-Dist: {requires}")
    print(f"wheel check: {'failed' if problems else 'ok'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
