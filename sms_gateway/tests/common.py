import json
from contextlib import contextmanager
from unittest.mock import patch

from odoo.tests import TransactionCase, new_test_user
from odoo.tests.common import ChromeBrowser

from ..providers.dispatch import DispatchRun

# a tour asks the test to type (see ``typing`` in static/src/tours/sms_gateway_tour_utils.js)
KEYS_SIGNAL = "sms_gateway:keys:"
# Chrome's key codes of the keys the tours press
KEY_CODES = {"Backspace": 8, "Enter": 13, "End": 35}


def type_keys(browser, actions):
    """Type ``actions`` (see the tours' ``typing``) into the page's focused field as a keyboard does: one
    browser key event per character (keydown, keypress, input, keyup; never a change event), then tell the
    tour it is done. Chrome runs the commands in the order they are sent."""

    def send(method, **params):
        browser._websocket_send(method, params=params)

    for action in actions:
        if "type" in action:
            for char in action["type"]:
                send("Input.dispatchKeyEvent", type="keyDown", key=char, text=char, unmodifiedText=char)
                send("Input.dispatchKeyEvent", type="keyUp", key=char)
        elif "insert" in action:  # an input method, the emoji picker of the system, a paste
            send("Input.insertText", text=action["insert"])
        else:
            key = action["key"]
            code = KEY_CODES[key]
            send("Input.dispatchKeyEvent", type="rawKeyDown", key=key, code=key, windowsVirtualKeyCode=code)
            send("Input.dispatchKeyEvent", type="keyUp", key=key, code=key, windowsVirtualKeyCode=code)
    send("Runtime.evaluate", expression="document.body.classList.remove('o_sms_gateway_typing')")


@contextmanager
def tour_signals(**handlers):
    """While in the block, a tour's ``console.log("sms_gateway:<name>:<payload>")`` calls
    ``handlers[name](browser, payload)`` instead of reaching the log; ``keys`` (real key events, see
    ``type_keys``) is always handled. Other console messages go to Odoo's own handler."""
    handlers = {"keys": lambda browser, payload: type_keys(browser, json.loads(payload)), **handlers}
    original = ChromeBrowser._handle_console

    def handle_console(browser, type, args=None, stackTrace=None, **kw):  # pylint: disable=redefined-builtin
        message = args and browser._from_remoteobject(args[0])
        if isinstance(message, str) and message.startswith("sms_gateway:"):
            name, _sep, payload = message[len("sms_gateway:") :].partition(":")
            if name in handlers:
                handlers[name](browser, payload)
                return None
        return original(browser, type, args=args, stackTrace=stackTrace, **kw)

    with patch.object(ChromeBrowser, "_handle_console", handle_console):
        yield


class SmsGatewayCase(TransactionCase):
    """Two French companies, each with a sandbox account, and test users per SMS group.

    Company A: ``reader_a``, ``user_a``, ``manager_a``; company B: ``user_b``.
    ``self.partner_a`` / ``self.partner_b`` have valid French mobiles.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True, mail_notrack=True))
        france = cls.env.ref("base.fr")
        cls.company_a = cls.env["res.company"].create({"name": "Mairie A", "country_id": france.id})
        cls.company_b = cls.env["res.company"].create({"name": "Département B", "country_id": france.id})
        cls.account_a = cls.env["sms.gateway.account"].create(
            {"name": "Sandbox A", "provider": "sandbox", "company_id": cls.company_a.id, "sender": "MAIRIEA"}
        )
        cls.account_b = cls.env["sms.gateway.account"].create(
            {"name": "Sandbox B", "provider": "sandbox", "company_id": cls.company_b.id}
        )

        def user(login, groups, company):
            # like real office users: they may edit contacts (post on them) and export lists
            groups = f"{groups},base.group_partner_manager,base.group_allow_export"
            return new_test_user(
                cls.env,
                login=login,
                groups=groups,
                company_id=company.id,
                company_ids=[(6, 0, company.ids)],
                email=f"{login}@example.com",
            )

        cls.reader_a = user("sms_reader_a", "base.group_user,sms_gateway.group_sms_reader", cls.company_a)
        cls.user_a = user("sms_user_a", "base.group_user,sms_gateway.group_sms_user", cls.company_a)
        cls.manager_a = user("sms_manager_a", "base.group_user,sms_gateway.group_sms_manager", cls.company_a)
        cls.user_b = user("sms_user_b", "base.group_user,sms_gateway.group_sms_user", cls.company_b)
        cls.partner_a = cls.env["res.partner"].create(
            {"name": "Alice Martin", "mobile": "06 12 34 56 78", "country_id": france.id, "company_id": False}
        )
        cls.partner_b = cls.env["res.partner"].create(
            {"name": "Bruno Petit", "mobile": "+33 7 51 23 45 67", "country_id": france.id, "company_id": False}
        )

    @classmethod
    def topup(cls, company, quantity):
        return cls.env["sms.credit.move"].create(
            {"company_id": company.id, "move_type": "topup", "quantity": quantity, "note": "test top-up"}
        )

    def queue_sms(self, company, number, body="Rappel : rendez-vous demain à 9h.", user=None, **vals):
        env = self.env(user=user) if user else self.env
        return (
            env["sms.sms"]
            .sudo()
            .with_company(company)
            .create({"number": number, "body": body, "company_id": company.id, **vals})
        )

    def balance(self, company):
        company.invalidate_recordset(["sms_credit_balance", "sms_credit_reserved"])
        return company.sms_credit_balance

    def run_queue(self):
        """Run the SMS queue as its cron does (recovery, claim, dispatch, settlement), in the test's
        transaction: what ``process_email_queue()`` is to mail's tests."""
        self.env["sms.sms"].sudo()._process_queue()

    @staticmethod
    def dispatch_run():
        """A dispatch run that stays in the test's transaction, for tests of one step of the queue."""
        return DispatchRun(auto_commit=False)
