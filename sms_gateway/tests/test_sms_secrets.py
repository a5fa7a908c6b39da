"""No credential in any text we keep or log: the SMS error message (read by every SMS reader), the account's
last test result, the server log. The connector tests check every connector's calls (provider_common); these
check what reaches the database and the log, through the real queue."""

from odoo.exceptions import AccessError
from odoo.tests import tagged

from ..providers.base import OutgoingSms, RequestFailure, SmsProvider
from ..providers.dispatch import send_all
from .emulators.base import LoopbackSession
from .test_gateway_providers import GatewayEmulatorCase

PASSWORD = "Zq8/s3cr@t w0rd+K"


class _LeakingProvider(SmsProvider):
    """A connector with a bug: its exception carries the URL it called, credential included."""

    credential_labels = {"password": "Password"}

    def send(self, messages):
        raise RuntimeError(f"cannot parse answer of https://api.example.invalid/send?pass={self.config['password']}")


@tagged("post_install", "-at_install", "sms_gateway_providers")
class TestSmsSecrets(GatewayEmulatorCase):
    def _ovh_account(self, **vals):
        # OVH's http2sms carries the password in the query string
        return self.make_account("ovh", password=PASSWORD, **vals)

    def _assert_no_secret(self, text, connector):
        for form in connector.secret_forms():
            self.assertNotIn(form, text or "")
        self.assertNotIn("s3cr@t", text or "")

    def test_tls_error_keeps_no_password_in_the_sms(self):
        account = self._ovh_account(base_url=self.ovh.api_url.replace("http://", "https://"))
        sms = self.send(["+33612345678"])
        self.assertIn("TLS/SSL", sms.error_message)
        self.assertIn("***", sms.error_message, "the URL is kept, its password masked")
        self._assert_no_secret(sms.error_message, account._get_connector())
        # and a plain SMS user reading it sees the same masked text
        self._assert_no_secret(
            sms.with_user(self.reader_a).read(["error_message"])[0]["error_message"], account._get_connector()
        )

    def test_connector_exception_masked_in_sms_and_log(self):
        connector = _LeakingProvider({"password": PASSWORD}, session=LoopbackSession())
        messages = [OutgoingSms("ref1", "+33612345678", "Hello")]
        with self.assertLogs("odoo.addons.sms_gateway.providers.dispatch", "WARNING") as logs:
            results = send_all(connector, messages)
        self.assertEqual([r.failure_type for r in results], ["sms_server"])
        self.assertIn("Connector error while sending: RuntimeError", results[0].error_message)
        self.assertIn("pass=***", results[0].error_message)
        self._assert_no_secret(results[0].error_message, connector)
        log = "\n".join(logs.output)
        self.assertIn("Traceback", log)
        self.assertIn("pass=***", log)
        self._assert_no_secret(log, connector)

    def test_last_test_message_masked_and_for_managers_only(self):
        account = self._ovh_account(base_url=self.ovh.api_url.replace("http://", "https://"))
        account.with_user(self.manager_a).action_test_connection()
        message = account.with_user(self.manager_a).last_test_message
        self.assertIn("Failed", message)
        self._assert_no_secret(message, account._get_connector())
        for user in (self.reader_a, self.user_a):
            self.assertNotIn("last_test_message", account.with_user(user).fields_get())
            with self.assertRaises(AccessError):
                account.with_user(user).read(["last_test_message"])
            with self.assertRaises(AccessError):
                account.with_user(user).search_read([("id", "=", account.id)], ["last_test_message"])

    def test_webhook_token_is_a_secret_of_the_connector(self):
        # the token is in the delivery report URL a provider may echo back: masked like a password
        account = self.make_account("vonage")
        token = account.webhook_token
        self.assertTrue(token)
        connector = account._get_connector()
        self.assertEqual(connector.config["webhook_token"], token)
        self.assertNotIn(token, connector.redact(f"callback={connector.config['dlr_url']} refused"))

    def test_redact_every_form(self):
        connector = _LeakingProvider({"password": PASSWORD, "username": "mairie", "api_key": "abc"})
        text = " | ".join(
            [
                PASSWORD,
                "pass=Zq8%2Fs3cr%40t+w0rd%2BK",  # a query string or form body
                "/Zq8/s3cr%40t%20w0rd%2BK",  # a URL path
                "Basic bWFpcmllOlpxOC9zM2NyQHQgdzByZCtL",  # basic auth of mairie:<password>
                "abc",  # a secret of less than 4 characters is never masked (it would garble every message)
            ]
        )
        redacted = connector.redact(text)
        self.assertEqual(redacted, "*** | pass=*** | /*** | Basic *** | abc")
        failure = connector.redact(RequestFailure(f"lost {PASSWORD}", maybe_sent=True))
        self.assertIsInstance(failure, RequestFailure)
        self.assertTrue(failure.maybe_sent, "masking keeps what the failure says about the send")
        self.assertEqual(str(failure), "lost ***")
