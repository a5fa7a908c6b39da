import base64
import json
import os
from pathlib import Path
from unittest.mock import patch

from odoo.tests import HttpCase, tagged
from odoo.tests.common import ChromeBrowser

SCREENSHOT_SIGNAL = "sms_gateway:screenshot"
# set SMS_GATEWAY_SCREENSHOT=1 to (re)write the README screenshot of the recap
SCREENSHOT_PATH = Path(__file__).parents[1] / "static" / "description" / "recap.png"


KEYS_SIGNAL = "sms_gateway:keys:"


def type_keys(browser, actions):
    """Type ``actions`` (see the tour's ``typing``) into the page's focused field as a keyboard does: one
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
            code = {"Backspace": 8, "Enter": 13}[key]
            send("Input.dispatchKeyEvent", type="rawKeyDown", key=key, code=key, windowsVirtualKeyCode=code)
            send("Input.dispatchKeyEvent", type="keyUp", key=key, code=key, windowsVirtualKeyCode=code)
    send("Runtime.evaluate", expression="document.body.classList.remove('o_sms_gateway_typing')")


@tagged("post_install", "-at_install")
class TestSmsComposerTour(HttpCase):
    """Contacts > Action > Send SMS in a real browser, the message typed key by key: counter, recap, send,
    History."""

    def test_composer_tour(self):
        company = self.env.ref("base.main_company")
        company.write({"country_id": self.env.ref("base.fr").id, "sms_optout_mention": "STOP 36608"})
        self.env["sms.gateway.account"].create(
            {"name": "Sandbox", "provider": "sandbox", "company_id": company.id, "sender": "MAIRIE"}
        )
        self.env["sms.credit.move"].create(
            {"company_id": company.id, "move_type": "topup", "quantity": 228, "note": "tour top-up"}
        )
        self.env["res.partner"].create(
            [
                {"name": "Tour Alice", "mobile": "06 12 34 56 78", "country_id": self.env.ref("base.fr").id},
                {"name": "Tour Bruno", "mobile": "+33 7 51 23 45 67", "country_id": self.env.ref("base.fr").id},
            ]
        )
        original = ChromeBrowser._handle_console

        def handle_console(browser, type, args=None, stackTrace=None, **kw):
            message = args and browser._from_remoteobject(args[0])
            if isinstance(message, str) and message.startswith(KEYS_SIGNAL):
                type_keys(browser, json.loads(message[len(KEYS_SIGNAL) :]))
                return None
            if message != SCREENSHOT_SIGNAL:
                return original(browser, type, args=args, stackTrace=stackTrace, **kw)
            done = "document.body.classList.add('o_sms_gateway_screenshot_done')"
            if not os.environ.get("SMS_GATEWAY_SCREENSHOT"):
                browser._websocket_send("Runtime.evaluate", params={"expression": done})
                return None

            def save(future):
                SCREENSHOT_PATH.write_bytes(base64.b64decode(future.result()["data"]))
                browser._websocket_send("Runtime.evaluate", params={"expression": done})

            future = browser._websocket_send("Page.captureScreenshot", with_future=True)
            future.add_done_callback(save)
            return None

        with patch.object(ChromeBrowser, "_handle_console", handle_console):
            self.start_tour("/odoo", "sms_gateway_composer_tour", login="admin")
        sms = self.env["sms.sms"].search([("body", "=", "Bonjour ça va 😀 STOP 36608")])
        self.assertEqual(len(sms), 2)
        self.assertEqual(sum(sms.mapped("credit_charged")), 2)
        self.assertEqual(len(sms.send_batch_id), 1)
