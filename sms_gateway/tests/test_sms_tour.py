import base64
import os
from pathlib import Path

from odoo.tests import HttpCase, tagged

from .common import tour_signals

# set SMS_GATEWAY_SCREENSHOT=1 to (re)write the README screenshot of the recap
SCREENSHOT_PATH = Path(__file__).parents[1] / "static" / "description" / "recap.png"


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

        def screenshot(browser, _payload):
            done = "document.body.classList.add('o_sms_gateway_screenshot_done')"
            if not os.environ.get("SMS_GATEWAY_SCREENSHOT"):
                browser._websocket_send("Runtime.evaluate", params={"expression": done})
                return

            def save(future):
                SCREENSHOT_PATH.write_bytes(base64.b64decode(future.result()["data"]))
                browser._websocket_send("Runtime.evaluate", params={"expression": done})

            future = browser._websocket_send("Page.captureScreenshot", with_future=True)
            future.add_done_callback(save)

        with tour_signals(screenshot=screenshot):
            self.start_tour("/odoo", "sms_gateway_composer_tour", login="admin")
        sms = self.env["sms.sms"].search([("body", "=", "Bonjour ça va 😀 STOP 36608")])
        self.assertEqual(len(sms), 2)
        self.assertEqual(sum(sms.mapped("credit_charged")), 2)
        self.assertEqual(len(sms.send_batch_id), 1)
