import hashlib
import hmac
import json
import os
import shutil
import subprocess
import tempfile
import threading
import xmlrpc.client
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from odoo import Command, fields
from odoo.tests import HttpCase, TransactionCase, tagged

from ..controllers.openapi import openapi_document
from .common import SmsGatewayCase

API = "/sms_gateway/api/v1"


class CallbackListener:
    """A local HTTP listener on 127.0.0.1 that records the status callbacks it receives."""

    def __init__(self):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((dict(self.headers), body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/sms-status"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@tagged("post_install", "-at_install")
class TestSmsApi(SmsGatewayCase, HttpCase):
    """The JSON API over real HTTP: keys, per-recipient results, retries, errors, callbacks, the contract."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["ir.config_parameter"].sudo().set_param("sms_gateway.api_callback_allow_private", "1")
        cls.topup(cls.company_a, 100)
        Application = cls.env["sms.gateway.application"]
        cls.app_a = Application.create(
            {"name": "Portail usagers", "user_id": cls.user_a.id, "company_id": cls.company_a.id}
        )
        cls.app_b = Application.create(
            {"name": "Planning école", "user_id": cls.user_b.id, "company_id": cls.company_b.id}
        )
        cls.key_a = cls.app_a.with_user(cls.manager_a).action_generate_key()["context"]["default_key"]
        cls.key_b = cls.app_b.action_generate_key()["context"]["default_key"]
        document = openapi_document("http://127.0.0.1")
        cls.schemas = document["components"]["schemas"]
        cls.schema_registry = Registry().with_resource(
            "urn:openapi", Resource.from_contents(document, default_specification=DRAFT202012)
        )

    def api(self, method, path, key=None, body=None, headers=None, raw=None):
        headers = dict(headers or {})
        key = self.key_a if key is None else key
        if key:
            headers["Authorization"] = f"Bearer {key}"
        if body is not None:
            raw = json.dumps(body)
        if raw is not None:
            headers.setdefault("Content-Type", "application/json")
        response = self.opener.request(method, f"{self.base_url()}{API}{path}", data=raw, headers=headers, timeout=30)
        self.assertEqual(response.headers["Content-Type"], "application/json; charset=utf-8", response.text[:300])
        return response

    def assertMatches(self, data, schema_name):
        """``data`` is valid against the OpenAPI document's schema ``schema_name``."""
        schema = {"$ref": f"urn:openapi#/components/schemas/{schema_name}"}
        jsonschema.Draft202012Validator(schema, registry=self.schema_registry).validate(data)

    def assertError(self, response, status, code):
        self.assertEqual(response.status_code, status, response.text)
        self.assertEqual(response.json()["error"]["code"], code)
        self.assertMatches(response.json(), "Error")
        self.assertNotIn("Traceback", response.text)

    def send(self, recipients=("+33612345678",), text="Votre rendez-vous est confirmé.", **fields):
        return self.api("POST", "/messages", body={"recipients": list(recipients), "text": text, **fields})

    # ------------------------------------------------------------------
    def test_send_then_read_status(self):
        response = self.send(reference="RDV-42")
        self.assertEqual(response.status_code, 201, response.text)
        answer = response.json()
        self.assertMatches(answer, "SendResponse")
        self.assertEqual((answer["queued"], answer["rejected"], answer["credits"]), (1, 0, 1))
        result = answer["messages"][0]
        self.assertEqual((result["number"], result["status"], result["segments"]), ("+33612345678", "queued", 1))
        sms = self.env["sms.sms"].browse(result["id"])
        # the normal path: account, reservation, origin = the application, the caller's reference
        self.assertEqual(sms.state, "outgoing")
        self.assertEqual(sms.gateway_account_id, self.account_a)
        self.assertEqual(sms.origin_label, "Portail usagers")
        self.assertEqual((sms.application_id, sms.api_reference), (self.app_a, "RDV-42"))
        self.assertEqual(sms.create_uid, self.user_a)
        self.assertEqual(self.balance(self.company_a), 99)
        status = self.api("GET", f"/messages/{sms.id}").json()
        self.assertMatches(status, "Message")
        self.assertEqual(status["status"], "queued")
        listed = self.api("GET", "/messages").json()
        self.assertEqual([m["id"] for m in listed["messages"]], [sms.id])
        by_reference = self.opener.get(
            f"{self.base_url()}{API}/messages",
            params={"reference": "RDV-42", "since": "2020-01-01T00:00:00Z"},
            headers={"Authorization": f"Bearer {self.key_a}"},
        ).json()
        self.assertMatches(by_reference, "MessageList")
        self.assertEqual(len(by_reference["messages"]), 1)
        self.run_queue()
        status = self.api("GET", f"/messages/{sms.id}").json()
        self.assertEqual(status["status"], "sent")
        self.assertTrue(status["sent_at"])
        self.assertMatches(status, "Message")

    def test_per_recipient_reasons(self):
        self.env["phone.blacklist"].sudo().add("+33751234567")
        response = self.send(["06 12 34 56 78", "+33612345678", "not a number", "+33751234567", "0698765432"])
        self.assertEqual(response.status_code, 201, response.text)
        answer = response.json()
        self.assertMatches(answer, "SendResponse")
        reasons = [(m["status"], m["reason"], m["number"]) for m in answer["messages"]]
        self.assertEqual(
            reasons,
            [
                ("queued", None, "+33612345678"),
                ("rejected", "duplicate", "+33612345678"),
                ("rejected", "invalid_number", None),
                ("rejected", "blacklisted", "+33751234567"),
                ("queued", None, "+33698765432"),
            ],
        )
        self.assertEqual(answer["messages"][1]["duplicate_of"], 0)
        self.assertIsNone(answer["messages"][1]["id"])
        self.assertEqual((answer["queued"], answer["rejected"], answer["credits"]), (2, 3, 2))
        rejected = self.env["sms.sms"].browse([answer["messages"][2]["id"], answer["messages"][3]["id"]])
        self.assertEqual(rejected.mapped("failure_type"), ["sms_number_format", "sms_blacklist"])
        self.assertEqual(rejected.mapped("credit_charged"), [0, 0])
        self.assertEqual(self.balance(self.company_a), 98)

    def test_retry_with_idempotency_key_never_sends_twice(self):
        body = {"recipients": ["+33612345678"], "text": "Rappel : conseil municipal jeudi.", "reference": "CM-1"}
        first = self.api("POST", "/messages", body=body, headers={"Idempotency-Key": "cm-2026-12-03"})
        self.assertEqual(first.status_code, 201)
        # the answer was lost: the client sends the same request again
        again = self.api("POST", "/messages", body=body, headers={"Idempotency-Key": "cm-2026-12-03"})
        self.assertEqual(again.status_code, 201)
        self.assertEqual(again.json(), first.json())
        self.assertEqual(again.headers.get("Idempotent-Replayed"), "true")
        self.assertEqual(self.env["sms.sms"].search_count([("api_reference", "=", "CM-1")]), 1)
        self.assertEqual(self.balance(self.company_a), 99)
        self.run_queue()
        third = self.api("POST", "/messages", body=body, headers={"Idempotency-Key": "cm-2026-12-03"})
        self.assertEqual(third.json(), first.json())
        self.assertEqual(self.env["sms.sms"].search_count([("api_reference", "=", "CM-1")]), 1)
        other = self.api(
            "POST", "/messages", body={**body, "text": "Autre texte"}, headers={"Idempotency-Key": "cm-2026-12-03"}
        )
        self.assertError(other, 409, "idempotency_conflict")
        # the key is the application's: another application may use the same one
        self.assertEqual(
            self.api(
                "POST", "/messages", key=self.key_b, body=body, headers={"Idempotency-Key": "cm-2026-12-03"}
            ).json()["error"]["code"],
            "insufficient_credit",
        )

    def test_authentication_errors(self):
        self.assertError(self.api("GET", "/balance", key=""), 401, "unauthorized")
        self.assertError(self.api("GET", "/balance", key="0123456789abcdef" * 2), 401, "unauthorized")
        self.assertEqual(self.api("GET", "/balance").status_code, 200)
        self.app_a.with_user(self.manager_a).action_revoke_key()
        self.assertError(self.api("GET", "/balance"), 401, "unauthorized")
        self.assertError(self.send(), 401, "unauthorized")

    def test_key_opens_no_xmlrpc_and_no_browser_session(self):
        models = xmlrpc.client.ServerProxy(f"{self.base_url()}/xmlrpc/2/object")
        with self.assertRaises(xmlrpc.client.Fault), self.assertLogs("odoo", "WARNING"):
            models.execute_kw(self.env.cr.dbname, self.user_a.id, self.key_a, "res.partner", "search", [[]])
        common = xmlrpc.client.ServerProxy(f"{self.base_url()}/xmlrpc/2/common")
        self.assertFalse(common.authenticate(self.env.cr.dbname, self.user_a.login, self.key_a, {}))
        with self.assertLogs("odoo.http", "WARNING"):
            response = self.opener.post(
                f"{self.base_url()}/web/session/authenticate",
                json={"params": {"db": self.env.cr.dbname, "login": self.user_a.login, "password": self.key_a}},
            )
        self.assertIn("error", response.json())
        # the API sets no session cookie either
        self.assertNotIn("Set-Cookie", self.api("GET", "/balance").headers)

    def test_forbidden(self):
        # a company the key's user may not work for
        self.assertError(self.send(company_id=self.company_b.id), 403, "company_not_allowed")
        balance = self.opener.get(
            f"{self.base_url()}{API}/balance",
            params={"company_id": self.company_b.id},
            headers={"Authorization": f"Bearer {self.key_a}"},
        )
        self.assertError(balance, 403, "company_not_allowed")
        # "Restrict SMS sending to SMS users" and the key's user not among them
        sms_user = self.env.ref("sms_gateway.group_sms_user")
        self.env.ref("base.group_user").write({"implied_ids": [Command.unlink(sms_user.id)]})
        sms_user.write({"users": [Command.unlink(self.user_a.id)]})
        self.assertError(self.send(), 403, "not_sms_user")

    def test_admin_account_restricted(self):
        # "No sending from the shared administrator account": an application acting as admin neither
        admin = self.env.ref("base.user_admin")
        admin.company_ids |= self.company_a
        application = self.env["sms.gateway.application"].create(
            {"name": "Admin app", "user_id": admin.id, "company_id": self.company_a.id}
        )
        key = application.action_generate_key()["context"]["default_key"]
        self.company_a.sms_forbid_admin = True
        response = self.api("POST", "/messages", key=key, body={"recipients": ["+33612345678"], "text": "x"})
        self.assertError(response, 403, "sending_restricted")
        self.assertEqual(self.balance(self.company_a), 100)

    def test_other_application_cannot_read_or_cancel(self):
        sms_id = self.send().json()["messages"][0]["id"]
        self.assertError(self.api("GET", f"/messages/{sms_id}", key=self.key_b), 404, "not_found")
        self.assertError(self.api("DELETE", f"/messages/{sms_id}", key=self.key_b), 404, "not_found")
        self.assertEqual(self.api("GET", "/messages", key=self.key_b).json()["messages"], [])
        self.assertEqual(self.env["sms.sms"].browse(sms_id).state, "outgoing")

    def test_cancel_refunds(self):
        sms_id = self.send().json()["messages"][0]["id"]
        self.assertEqual(self.balance(self.company_a), 99)
        response = self.api("DELETE", f"/messages/{sms_id}")
        self.assertEqual(response.status_code, 200, response.text)
        self.assertMatches(response.json(), "Message")
        self.assertEqual((response.json()["status"], response.json()["credits"]), ("canceled", 0))
        self.assertEqual(self.balance(self.company_a), 100)
        self.assertError(self.api("DELETE", f"/messages/{sms_id}"), 409, "not_cancelable")
        sent_id = self.send().json()["messages"][0]["id"]
        self.run_queue()
        self.assertError(self.api("DELETE", f"/messages/{sent_id}"), 409, "not_cancelable")
        self.assertEqual(self.balance(self.company_a), 99)

    def test_input_errors(self):
        self.assertError(self.api("POST", "/messages", raw="{not json"), 400, "malformed")
        self.assertError(self.api("POST", "/messages", raw="[1, 2]"), 400, "malformed")
        self.assertError(self.send(unknown="x"), 422, "invalid_field")
        self.assertError(self.send(text=""), 422, "invalid_field")
        self.assertError(self.send(recipients=[]), 422, "invalid_field")
        self.assertError(self.send(send_at="tomorrow"), 422, "invalid_field")
        self.assertError(self.send(callback_url="ftp://127.0.0.1/x"), 422, "invalid_field")
        self.assertError(self.send(sender="AUTRE"), 422, "sender_not_allowed")
        self.assertError(
            self.api(
                "POST",
                "/messages",
                body={"recipients": ["+33612345678"], "text": "x"},
                headers={"Idempotency-Key": "é"},
            ),
            400,
            "invalid_idempotency_key",
        )
        self.assertError(self.send(recipients=["+33612345678"] * 10001), 413, "too_many_recipients")
        self.assertError(self.api("POST", "/messages", raw="x" * (3 * 1024 * 1024)), 413, "body_too_large")
        self.assertError(self.api("GET", "/messages/abc"), 404, "not_found")
        self.assertError(self.api("GET", "/messages/999999999"), 404, "not_found")
        self.assertError(self.api("GET", "/nowhere"), 404, "not_found")
        bad_limit = self.opener.get(
            f"{self.base_url()}{API}/messages", params={"limit": "0"}, headers={"Authorization": f"Bearer {self.key_a}"}
        )
        self.assertError(bad_limit, 422, "invalid_field")
        self.assertEqual(self.env["sms.sms"].search_count([("application_id", "=", self.app_a.id)]), 0)
        self.assertEqual(self.balance(self.company_a), 100)

    def test_callback_url_private_refused_by_default(self):
        self.env["ir.config_parameter"].sudo().set_param("sms_gateway.api_callback_allow_private", "")
        for url in ("http://127.0.0.1:9/x", "http://10.0.0.1/x", "http://169.254.169.254/latest", "http://[::1]/x"):
            self.assertError(self.send(callback_url=url), 422, "invalid_field")

    def test_insufficient_credit_in_french(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        self.env["ir.module.module"]._load_module_terms(["sms_gateway"], ["fr_FR"], overwrite=True)
        self.user_b.lang = "fr_FR"
        self.topup(self.company_b, 1)
        response = self.api(
            "POST",
            "/messages",
            key=self.key_b,
            body={"recipients": ["+33612345678", "+33698765432"], "text": "Sortie scolaire"},
        )
        self.assertError(response, 402, "insufficient_credit")
        self.assertEqual(
            response.json()["error"]["message"],
            "Crédit insuffisant : cet envoi nécessite 2 SMS, votre solde est de 1 SMS. Rien n'a été envoyé.",
        )
        # nothing queued, nothing charged
        self.assertEqual(self.env["sms.sms"].search_count([("application_id", "=", self.app_b.id)]), 0)
        self.assertEqual(self.balance(self.company_b), 1)

    def test_rate_limit(self):
        self.app_a.rate_limit = 2
        self.assertEqual(self.api("GET", "/balance").status_code, 200)
        self.assertEqual(self.api("GET", "/balance").status_code, 200)
        response = self.api("GET", "/balance")
        self.assertError(response, 429, "rate_limited")
        self.assertTrue(response.headers["Retry-After"].isdigit())

    def test_balance(self):
        self.send()
        response = self.api("GET", "/balance")
        self.assertMatches(response.json(), "Balance")
        self.assertEqual(
            response.json(),
            {"company_id": self.company_a.id, "company": "Mairie A", "balance": 99, "reserved": 1, "quota_left": None},
        )

    def test_no_credentials_in_answers(self):
        self.account_a.sudo().write({"provider": "sandbox", "api_key": "SECRET-PROVIDER-KEY"})
        texts = [
            self.send().text,
            self.api("GET", "/balance").text,
            self.api("GET", "/messages").text,
            self.api("GET", "/openapi.json", key="").text,
        ]
        for text in texts:
            self.assertNotIn("SECRET-PROVIDER-KEY", text)
            self.assertNotIn(self.key_a, text)
            self.assertNotIn(self.app_a.callback_secret, text)

    def test_signed_status_callback(self):
        listener = CallbackListener()
        self.addCleanup(listener.close)
        sms_id = self.send(callback_url=listener.url).json()["messages"][0]["id"]
        self.env["sms.gateway.callback"]._cron_send_callbacks()
        self.assertEqual(listener.received, [], "nothing to say while queued")
        cron = self.env.ref("sms_gateway.ir_cron_sms_gateway_api_callbacks")
        Trigger = self.env["ir.cron.trigger"].sudo()
        triggers_before = Trigger.search([("cron_id", "=", cron.id)])
        self.run_queue()
        woken = Trigger.search([("cron_id", "=", cron.id)]) - triggers_before
        self.assertTrue(woken, "the callback cron is woken by the state change, not left to its next run")
        self.assertLessEqual(max(woken.mapped("call_at")), fields.Datetime.now())
        self.env["sms.gateway.callback"]._cron_send_callbacks()
        self.assertEqual(len(listener.received), 1)
        headers, body = listener.received[0]
        payload = json.loads(body)
        self.assertMatches(payload, "StatusCallback")
        self.assertEqual((payload["message"]["id"], payload["message"]["status"]), (sms_id, "sent"))
        timestamp = headers["X-Sms-Gateway-Timestamp"]
        expected = hmac.new(self.app_a.callback_secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
        self.assertEqual(headers["X-Sms-Gateway-Signature"], f"sha256={expected.hexdigest()}")
        # once per state change
        self.env["sms.gateway.callback"]._cron_send_callbacks()
        self.assertEqual(len(listener.received), 1)

    def test_no_callback_url_no_wake_up(self):
        cron = self.env.ref("sms_gateway.ir_cron_sms_gateway_api_callbacks")
        Trigger = self.env["ir.cron.trigger"].sudo()
        triggers_before = Trigger.search([("cron_id", "=", cron.id)])
        self.assertEqual(self.send().status_code, 201)
        self.run_queue()
        self.assertFalse(Trigger.search([("cron_id", "=", cron.id)]) - triggers_before)

    def test_callback_retried_with_backoff(self):
        sms_id = self.send(callback_url="http://127.0.0.1:9/closed").json()["messages"][0]["id"]
        self.run_queue()
        self.env["sms.gateway.callback"]._cron_send_callbacks()
        callback = self.env["sms.gateway.callback"].search([("sms_id", "=", sms_id)])
        self.assertEqual((callback.state, callback.attempt_count), ("pending", 1))
        self.assertTrue(callback.last_error)
        self.assertGreater(callback.next_try_date, callback.create_date)

    def test_history_shows_application(self):
        self.send()
        groups = (
            self.env["sms.sms"]
            .with_user(self.manager_a)
            ._read_group([("application_id", "!=", False)], ["application_id"], ["__count"])
        )
        self.assertEqual(groups, [(self.app_a, 1)])
        search_view = self.env.ref("sms_gateway.sms_sms_view_search_history")
        arch = self.env["sms.sms"].get_views([(search_view.id, "search")])["views"]["search"]["arch"]
        self.assertIn("group_application", arch)

    def test_openapi_with_schemathesis(self):
        document = self.api("GET", "/openapi.json", key="").json()
        self.assertEqual(document["openapi"], "3.1.0")
        executable = shutil.which("schemathesis") or shutil.which("st")
        if not executable:
            self.skipTest("schemathesis is not installed (requirements-dev.txt)")
        env = dict(os.environ, SCHEMATHESIS_HOOKS="", PYTHONWARNINGS="ignore")
        result = subprocess.run(
            [
                executable,
                "run",
                f"{self.base_url()}{API}/openapi.json",
                "--header",
                f"Authorization: Bearer {self.key_a}",
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
                "--max-examples",
                "8",
                "--phases",
                "examples,fuzzing",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            env=env,
            check=False,
            cwd=tempfile.mkdtemp(prefix="sms_api_schemathesis_"),  # its report folder is not ours to keep
        )
        self.assertEqual(result.returncode, 0, result.stdout[-6000:] + result.stderr[-2000:])


@tagged("post_install", "-at_install")
class TestSmsApiConcurrentRetry(TransactionCase):
    """Two requests with the same Idempotency-Key at the same moment, on two real database connections:
    the second waits for the first and answers what it answered; one SMS."""

    def test_concurrent_same_key_sends_once(self):
        from odoo import SUPERUSER_ID, api, sql_db

        def cursor():
            cr = sql_db.db_connect(self.env.cr.dbname).cursor()
            cr.transaction = api.Transaction(self.registry)
            cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")  # as the API's own transactions
            return cr

        with cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            company = env["res.company"].create({"name": "Concurrency API Co", "country_id": env.ref("base.fr").id})
            env["sms.gateway.account"].create({"name": "Sandbox", "provider": "sandbox", "company_id": company.id})
            env["sms.credit.move"].create({"company_id": company.id, "move_type": "topup", "quantity": 10})
            user = env["res.users"].create(
                {
                    "name": "API concurrency",
                    "login": "api_concurrency",
                    "company_id": company.id,
                    "company_ids": [Command.set(company.ids)],
                    "groups_id": [Command.link(env.ref("base.group_user").id)],
                }
            )
            application = env["sms.gateway.application"].create(
                {"name": "Concurrent app", "user_id": user.id, "company_id": company.id}
            )
            ids = (company.id, user.id, application.id)
        self.addCleanup(self._cleanup, ids, cursor)
        payload = {"recipients": ["+33612345678"], "text": "Une seule fois", "reference": "ONCE"}

        def request(cr):
            env = api.Environment(cr, ids[1], {"allowed_company_ids": [ids[0]]})
            Request = env["sms.gateway.api.request"].sudo()
            earlier = Request._claim(ids[2], "same-key", "hash")
            if earlier:
                return "replayed", earlier[2]
            app = env["sms.gateway.application"].sudo().browse(ids[2])
            body = env["sms.sms"]._api_send(app, env["res.company"].browse(ids[0]), payload)
            Request._store_answer(ids[2], "same-key", 201, body)
            return "sent", body

        outcome = {}

        def second():
            with cursor() as cr:
                outcome["second"] = request(cr)

        with cursor() as cr_first:
            outcome["first"] = request(cr_first)  # holds the key, not committed yet
            thread = threading.Thread(target=second)
            thread.start()
            thread.join(timeout=1.0)
            self.assertTrue(thread.is_alive(), "the second request waits for the first")
        thread.join(timeout=10)
        self.assertEqual(outcome["first"][0], "sent")
        self.assertEqual(outcome["second"], ("replayed", outcome["first"][1]))
        with cursor() as cr:
            cr.execute("SELECT count(*) FROM sms_sms WHERE application_id = %s", (ids[2],))
            self.assertEqual(cr.fetchone()[0], 1)

    def _cleanup(self, ids, cursor):
        company_id, user_id, application_id = ids
        with cursor() as cr:
            env = api_env(cr)
            env["sms.sms"].search([("company_id", "=", company_id)]).unlink()
            env["sms.gateway.application"].browse(application_id).unlink()
            env["sms.credit.move"].search([("company_id", "=", company_id)]).unlink()
            env["sms.gateway.account"].with_context(active_test=False).search(
                [("company_id", "=", company_id)]
            ).unlink()
            user = env["res.users"].browse(user_id)
            partner = user.partner_id
            user.unlink()
            partner.unlink()
            company = env["res.company"].browse(company_id)
            partner = company.partner_id
            company.unlink()
            partner.unlink()


def api_env(cr):
    from odoo import SUPERUSER_ID, api

    return api.Environment(cr, SUPERUSER_ID, {})
