"""The connectors' reading of inbound payloads (replies, opt-outs), as each provider documents them."""

from odoo.tests import BaseCase, tagged

from ..providers.base import PROVIDERS, inbound_number
from ..providers.brevo import BrevoProvider
from ..providers.generic_http import GenericHttpProvider
from ..providers.ovh import OvhProvider
from ..providers.twilio import TwilioProvider
from ..providers.vonage import VonageProvider

SID = "AC" + "0" * 31 + "1"


@tagged("post_install", "-at_install", "sms_gateway_providers")
class TestProviderInbound(BaseCase):
    def test_which_connectors_forward_replies(self):
        forwarding = sorted(code for code, cls in PROVIDERS.items() if cls.has_inbound)
        self.assertEqual(forwarding, ["brevo", "generic_http", "ovh", "sandbox", "twilio", "vonage"])
        for code, cls in PROVIDERS.items():
            if not cls.has_inbound:
                with self.subTest(code=code), self.assertRaises(ValueError):
                    cls({}).parse_inbound({"from": "+33612345678", "text": "STOP"})

    def test_inbound_number(self):
        cases = {
            "+33612345678": "+33612345678",
            "33612345678": "+33612345678",
            "0033612345678": "+33612345678",
            "+33 6 12 34 56 78": "+33612345678",
            "0612345678": "0612345678",  # national: formatted with the company's country by the model
            "38200": "",  # a short code
            "Hello": "",
            None: "",
        }
        for value, expected in cases.items():
            with self.subTest(value=value):
                self.assertEqual(inbound_number(value), expected)

    def test_twilio(self):
        provider = TwilioProvider({"username": SID, "password": "token"})
        payload = {"MessageSid": "SM1", "AccountSid": SID, "From": "+33612345678", "To": "+1500", "Body": "Merci"}
        [message] = provider.parse_inbound(payload)
        self.assertEqual(
            (message.number, message.text, message.provider_id, message.kind), ("+33612345678", "Merci", "SM1", None)
        )
        [stop] = provider.parse_inbound({**payload, "Body": "Arrête", "OptOutType": "STOP"})
        self.assertEqual(stop.kind, "unsubscribe")
        [start] = provider.parse_inbound({**payload, "OptOutType": "START"})
        self.assertEqual(start.kind, "start")
        for bad in ({}, {**payload, "From": ""}, {k: v for k, v in payload.items() if k != "Body"}, "x"):
            with self.subTest(bad=bad), self.assertRaises(ValueError):
                provider.parse_inbound(bad)
        with self.assertRaises(ValueError):
            provider.parse_inbound({**payload, "AccountSid": "AC" + "9" * 32})
        self.assertIn("<Response>", provider.inbound_answer[0])

    def test_vonage(self):
        provider = VonageProvider({})
        payload = {"msisdn": "33612345678", "to": "3370000", "messageId": "0A01", "text": "Oui", "type": "text"}
        [message] = provider.parse_inbound(payload)
        self.assertEqual((message.number, message.text, message.provider_id), ("+33612345678", "Oui", "0A01"))
        self.assertEqual(provider.parse_inbound({**payload, "type": "binary"}), [])
        for bad in ({}, {**payload, "msisdn": ""}, {**payload, "messageId": ""}):
            with self.subTest(bad=bad), self.assertRaises(ValueError):
                provider.parse_inbound(bad)

    def test_ovh(self):
        provider = OvhProvider({})
        payload = {"id": "991", "senderid": "0033612345678", "message": "STOP", "shortcode": "38200", "tag": ""}
        [message] = provider.parse_inbound(payload)
        self.assertEqual(
            (message.number, message.text, message.provider_id, message.to), ("+33612345678", "STOP", "991", "38200")
        )
        with self.assertRaises(ValueError):
            provider.parse_inbound({"id": "1", "senderid": "0033612345678"})

    def test_brevo(self):
        provider = BrevoProvider({})
        reply = {"to": "33612345678", "messageId": 77, "msg_status": "replied", "reply": "OK", "date": "2026-12-03"}
        [message] = provider.parse_inbound(reply)
        self.assertEqual((message.number, message.text, message.kind), ("+33612345678", "OK", None))
        self.assertEqual(message.reply_to_provider_id, "77")
        [unsubscribed] = provider.parse_inbound({**reply, "msg_status": "unsubscribed"})
        self.assertEqual(unsubscribed.kind, "unsubscribe")
        self.assertNotEqual(unsubscribed.provider_id, message.provider_id)
        self.assertEqual(provider.parse_inbound({**reply, "msg_status": "delivered"}), [], "a delivery event")
        for bad in ([reply], {**reply, "msg_status": "teleported"}, {**reply, "to": ""}, {**reply, "messageId": None}):
            with self.subTest(bad=bad), self.assertRaises(ValueError):
                provider.parse_inbound(bad)

    def test_generic_http(self):
        [message] = GenericHttpProvider({}).parse_inbound({"msisdn": "+33612345678", "message": "Oui", "id": 5})
        self.assertEqual((message.number, message.text, message.provider_id), ("+33612345678", "Oui", "5"))
        provider = GenericHttpProvider({"generic_inbound_from": "sms.from", "generic_inbound_text": "sms.body"})
        [nested] = provider.parse_inbound({"sms": {"from": "0033612345678", "body": "Non"}})
        self.assertEqual((nested.number, nested.text, nested.provider_id), ("+33612345678", "Non", None))
        for bad in ({"sms": {"from": "x", "body": "Non"}}, {"sms": {"from": "0612345678"}}, ["x"]):
            with self.subTest(bad=bad), self.assertRaises(ValueError):
                provider.parse_inbound(bad)
