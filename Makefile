# sms_gateway — needs Odoo 18.0 installed for python3; installs the rest it needs (requirements, PostgreSQL start).
# make test TEST_TAGS=/sms_gateway:TestSmsLedger runs one test class (SMS_GATEWAY_TEST_PORT: another HTTP port).
PYTHON ?= python3
DEMO_DB ?= sms_gateway_demo
.PHONY: demo test lint check-odoo env env-dev test-stock test-faults test-install wheel readme bench bench-composer bench-workers screenshots i18n

# Odoo first: one sentence when it is not installed (nothing else is installed for it).
check-odoo:
	@$(PYTHON) .ci/odoo_env.py > /dev/null

# The addon's Python requirements and the dev tools, installed only when missing; PostgreSQL started when it
# does not answer on 127.0.0.1 (.ci/ensure_env.py).
env-dev:
	@$(PYTHON) .ci/ensure_env.py --requirements requirements-dev.txt

env: env-dev
	@$(PYTHON) .ci/ensure_env.py --postgres

# pre-commit with OCA's hooks, ruff, pylint-odoo, prettier (.pre-commit-config.yaml); the hooks' tools are
# installed once into ~/.cache/pre-commit.
lint: env-dev
	$(PYTHON) -m pre_commit run --all-files --show-diff-on-failure

test: check-odoo env lint
	$(PYTHON) .ci/odoo_test.py --addons-path "$$($(PYTHON) .ci/odoo_env.py)" $(if $(TEST_TAGS),--test-tags $(TEST_TAGS))

# Odoo's own SMS suites, with sms_gateway installed: installing the addon must break nothing.
test-stock: check-odoo env
	$(PYTHON) .ci/odoo_test.py --addons-path "$$($(PYTHON) .ci/odoo_env.py)" \
		--modules sms_gateway,test_mail_sms --test-tags /sms,/test_mail_sms --log odoo-test-stock.log

# Fault injection with real processes (kill -9, provider 500/timeouts/drops, late answers, two workers): about 8 minutes.
test-faults: check-odoo env
	$(PYTHON) tests_faults/test_faults.py -v

# Upgrade from the landed 18.0.1.0.0 and clean uninstall, on scratch databases: about 2 minutes.
test-install: check-odoo env
	$(PYTHON) tests_install/test_install.py -v

demo: check-odoo
	@$(PYTHON) .ci/ensure_env.py --requirements requirements.txt --postgres
	$(PYTHON) -m odoo --db_host=127.0.0.1 --database $(DEMO_DB) --addons-path "$$($(PYTHON) .ci/odoo_env.py)" \
		--init sms_gateway --http-port 8069 --db-filter '^$(DEMO_DB)$$'

bench: check-odoo env
	$(PYTHON) bench/bench_dispatch.py

bench-composer: check-odoo env
	$(PYTHON) bench/bench_composer.py

bench-workers: check-odoo env
	$(PYTHON) bench/bench_workers.py

# README screenshots (sms_gateway/static/description/*.png), in French, from a scratch demo database, Odoo on a
# free port of 127.0.0.1 and headless Chromium (/usr/bin/chromium) driven by playwright; the database is dropped.
screenshots: check-odoo env
	$(PYTHON) tools/readme_screenshots.py

# Build the wheel integrators install (odoo_addon_sms_gateway-<version>-py3-none-any.whl) and check its content,
# then that Odoo finds it installed in a virtualenv (.ci/check_wheel.py); `pip wheel --no-deps -w dist sms_gateway`
# builds the same file.
wheel: env-dev
	$(PYTHON) .ci/check_wheel.py

# Regenerate sms_gateway/README.rst and static/description/index.html from sms_gateway/readme/ with OCA's
# oca-gen-addon-readme (OCA maintainer-tools: not on PyPI, install it from its repository, with pandoc).
readme:
	$(PYTHON) .ci/addon_readme.py

# Re-export the .pot from a scratch database and merge it into fr.po (then translate the new entries).
I18N_DB ?= sms_gateway_i18n
i18n: check-odoo env
	dropdb --if-exists -h 127.0.0.1 $(I18N_DB)
	$(PYTHON) -m odoo --db_host=127.0.0.1 -d $(I18N_DB) --addons-path "$$($(PYTHON) .ci/odoo_env.py)" \
		-i sms_gateway --without-demo all --stop-after-init --log-level warn --http-port 8189
	$(PYTHON) -m odoo --db_host=127.0.0.1 -d $(I18N_DB) --addons-path "$$($(PYTHON) .ci/odoo_env.py)" \
		--i18n-export sms_gateway/i18n/sms_gateway.pot --modules sms_gateway --stop-after-init --log-level warn \
		--http-port 8189
	dropdb --if-exists -h 127.0.0.1 $(I18N_DB)
	msgmerge --quiet --update --no-fuzzy-matching --backup=none sms_gateway/i18n/fr.po sms_gateway/i18n/sms_gateway.pot
	msgfmt -c --statistics -o /dev/null sms_gateway/i18n/fr.po
