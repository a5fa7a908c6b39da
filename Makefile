# sms_gateway — needs Odoo 18.0 installed for python3 and PostgreSQL running.
PYTHON ?= python3
DEMO_DB ?= sms_gateway_demo
.PHONY: demo test lint check-odoo test-stock bench

check-odoo:
	@$(PYTHON) .ci/odoo_env.py > /dev/null

lint:
	$(PYTHON) -m ruff check sms_gateway bench .ci
	$(PYTHON) -m ruff format --check sms_gateway bench .ci
	$(PYTHON) -m pylint --rcfile=.pylintrc sms_gateway

test: check-odoo lint
	$(PYTHON) .ci/odoo_test.py --addons-path "$$($(PYTHON) .ci/odoo_env.py)"

# Odoo's own SMS suites, with sms_gateway installed: installing the addon must break nothing.
test-stock: check-odoo
	$(PYTHON) .ci/odoo_test.py --addons-path "$$($(PYTHON) .ci/odoo_env.py)" \
		--modules sms_gateway,test_mail_sms --test-tags /sms,/test_mail_sms --log odoo-test-stock.log

demo: check-odoo
	$(PYTHON) -m odoo --db_host=127.0.0.1 --database $(DEMO_DB) --addons-path "$$($(PYTHON) .ci/odoo_env.py)" \
		--init sms_gateway --http-port 8069 --db-filter '^$(DEMO_DB)$$'

bench: check-odoo
	$(PYTHON) bench/bench_dispatch.py
