"""Delivery reports: the public webhook of each account, and the pull cron of ASPSMS and SFR DMC."""

import json
import urllib.parse

from odoo.tests import HttpCase, tagged

from ..providers.twilio import twilio_signature
from .emulators.sfr_dmc import UNDELIVERED_NUMBER as SFR_UNDELIVERED_NUMBER
from .emulators.sfr_dmc import SfrDmcEmulator
from .test_gateway_providers import SID, TOKEN, GatewayEmulatorCase


@tagged("post_install", "-at_install", "sms_gateway_providers")
class TestGatewayDeliveryWebhook(GatewayEmulatorCase, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # a message posted on a contact, with its SMS notification, as the composer makes them
        cls.message = cls.partner_a.message_post(body="Rappel", message_type="sms")
        cls.topup(cls.company_b, 100)

    def pending_sms(self, account, provider_id, number="+33612345678"):
        """An SMS handed to ``account``'s provider (state "Sent") with its chatter notification."""
        partner = self.env["res.partner"].create({"name": f"Recipient {provider_id}", "mobile": number})
        sms = self.queue_sms(account.company_id, number, mail_message_id=self.message.id, partner_id=partner.id)
        notification = self.env["mail.notification"].create(
            {
                "mail_message_id": self.message.id,
                "res_partner_id": partner.id,
                "notification_type": "sms",
                "notification_status": "pending",
                "sms_number": number,
            }
        )
        self.env["sms.tracker"].create({"sms_uuid": sms.uuid, "mail_notification_id": notification.id})
        sms.write(
            {
                "state": "pending",
                "failure_type": False,
                "error_message": False,
                "provider_message_id": provider_id,
                "gateway_account_id": account.id,
                "sent_date": "2026-11-23 10:00:00",
            }
        )
        return sms, notification

    def post(self, account, data=None, json_body=None, query=None, headers=None, token=None, method="POST"):
        path = f"/sms_gateway/dlr/{token or account.webhook_token}"
        if query:
            path += "?" + urllib.parse.urlencode(query)
        if method == "GET":
            return self.url_open(path, headers=headers)
        if json_body is not None:
            data = json_body if isinstance(json_body, (str, bytes)) else json.dumps(json_body)
            headers = {"Content-Type": "application/json", **(headers or {})}
        return self.url_open(path, data=data or {}, headers=headers)

    def assert_state(self, sms, state, failure_type=False):
        sms.invalidate_recordset()
        self.assertEqual((sms.state, sms.failure_type), (state, failure_type))

    # -- Brevo (JSON) ---------------------------------------------------------------
    def test_brevo_delivered_idempotent_no_downgrade(self):
        account = self.make_account("brevo")
        sms, notification = self.pending_sms(account, "1000042")
        response = self.post(account, json_body={"messageId": 1000042, "msg_status": "delivered", "to": "33612345678"})
        self.assertEqual((response.status_code, response.text), (200, "OK"))
        self.assert_state(sms, "sent")
        self.assertTrue(sms.delivery_date)
        self.assertEqual(notification.notification_status, "sent")
        delivered_on = sms.delivery_date
        # the same report again, then a late "sent": nothing changes
        for status in ("delivered", "sent", "hard_bounce"):
            response = self.post(account, json_body={"messageId": 1000042, "msg_status": status})
            self.assertEqual(response.status_code, 200)
            self.assert_state(sms, "sent")
            self.assertEqual(sms.delivery_date, delivered_on)
            self.assertEqual(notification.notification_status, "sent")

    def test_brevo_hard_bounce(self):
        account = self.make_account("brevo")
        sms, notification = self.pending_sms(account, "1000043")
        before = self.balance(self.company_a)
        response = self.post(account, json_body={"messageId": "1000043", "msg_status": "hard_bounce"})
        self.assertEqual(response.status_code, 200)
        self.assert_state(sms, "error", "sms_invalid_destination")
        self.assertEqual(sms.error_message, "hard bounce")
        self.assertEqual(notification.notification_status, "bounce")
        self.assertEqual(notification.failure_type, "sms_invalid_destination")
        self.assertEqual(self.balance(self.company_a), before, "a sent SMS stays charged")

    def test_refusals_change_nothing(self):
        account = self.make_account("brevo")
        sms, notification = self.pending_sms(account, "1000044")
        delivered = {"messageId": "1000044", "msg_status": "delivered"}
        cases = [
            (404, {"json_body": delivered, "token": "x" * 43}),  # wrong token
            (404, {"json_body": {"messageId": "999", "msg_status": "delivered"}}),  # unknown message
            (400, {"json_body": "{not json"}),  # malformed body
            (400, {"json_body": {"messageId": "1000044", "msg_status": "teleported"}}),  # unknown status
            (400, {"json_body": {"msg_status": "delivered"}}),  # no message id
        ]
        for status, kwargs in cases:
            response = self.post(account, **kwargs)
            self.assertEqual(response.status_code, status, kwargs)
            self.assertNotIn("1000044", response.text)
            self.assert_state(sms, "pending")
            self.assertEqual(notification.notification_status, "pending")
        # an archived account's URL stops working
        account.active = False
        self.assertEqual(self.post(account, json_body=delivered).status_code, 404)
        self.assert_state(sms, "pending")

    def test_scoped_to_the_account(self):
        """A report on account A's URL never touches an SMS of account B with the same provider id."""
        account = self.make_account("brevo")
        other = self.make_account("brevo", company=self.company_b)
        sms_b, _notification = self.pending_sms(other, "1000045")
        response = self.post(account, json_body={"messageId": "1000045", "msg_status": "delivered"})
        self.assertEqual(response.status_code, 404)
        self.assert_state(sms_b, "pending")

    # -- Twilio (signed form) -------------------------------------------------------
    def test_twilio_signature(self):
        account = self.make_account("twilio")
        sms, notification = self.pending_sms(account, "SM0001")
        form = {"MessageSid": "SM0001", "MessageStatus": "delivered", "AccountSid": SID, "To": "+33612345678"}
        bad = self.post(account, data=form, headers={"X-Twilio-Signature": "forged"})
        self.assertEqual(bad.status_code, 403)
        self.assert_state(sms, "pending")
        missing = self.post(account, data=form)
        self.assertEqual(missing.status_code, 403)
        signature = twilio_signature(TOKEN, account.webhook_url, form)
        good = self.post(account, data=form, headers={"X-Twilio-Signature": signature})
        self.assertEqual(good.status_code, 200)
        self.assert_state(sms, "sent")
        self.assertEqual(notification.notification_status, "sent")

    def test_twilio_undelivered(self):
        account = self.make_account("twilio")
        sms, notification = self.pending_sms(account, "SM0002")
        form = {"MessageSid": "SM0002", "MessageStatus": "undelivered", "ErrorCode": "30005"}
        headers = {"X-Twilio-Signature": twilio_signature(TOKEN, account.webhook_url, form)}
        self.assertEqual(self.post(account, data=form, headers=headers).status_code, 200)
        self.assert_state(sms, "error", "sms_invalid_destination")
        self.assertIn("30005", sms.error_message)
        self.assertEqual(notification.notification_status, "bounce")

    # -- Vonage (GET query or JSON) ---------------------------------------------------
    def test_vonage(self):
        account = self.make_account("vonage")
        sms, _notification = self.pending_sms(account, "0A0000000123ABCD1")
        failed, notification = self.pending_sms(account, "0A0000000123ABCD2", number="+33751234567")
        query = {"messageId": "0A0000000123ABCD1", "status": "delivered", "msisdn": "33612345678", "err-code": "0"}
        self.assertEqual(self.post(account, query=query, method="GET").status_code, 200)
        self.assert_state(sms, "sent")
        body = {"messageId": "0A0000000123ABCD2", "status": "expired", "err-code": "5"}
        self.assertEqual(self.post(account, json_body=body).status_code, 200)
        self.assert_state(failed, "error", "sms_expired")
        self.assertEqual(notification.notification_status, "exception")

    # -- OVH (GET query) ----------------------------------------------------------------
    def test_ovh(self):
        account = self.make_account("ovh")
        sms, _notification = self.pending_sms(account, "1000001")
        failed, _notification = self.pending_sms(account, "1000002", number="+33751234567")
        self.assertEqual(self.post(account, query={"id": "1000002", "ptt": "3"}, method="GET").status_code, 200)
        self.assert_state(failed, "pending")
        self.assertEqual(self.post(account, query={"id": "1000001", "ptt": "4"}, method="GET").status_code, 200)
        self.assert_state(sms, "sent")
        self.assertEqual(self.post(account, query={"id": "1000002", "ptt": "6"}, method="GET").status_code, 200)
        self.assert_state(failed, "error", "sms_not_delivered")
        self.assertEqual(self.post(account, query={"id": "1000001", "ptt": "x"}, method="GET").status_code, 400)

    # -- SFR DMC pushcra (raw XML body) ------------------------------------------------------
    def test_sfr_pushcra_xml(self):
        self.env["sms.gateway.account"].search([("company_id", "=", self.company_a.id)]).active = False
        account = self.env["sms.gateway.account"].create(
            {
                "name": "SFR",
                "provider": "sfr_dmc",
                "company_id": self.company_a.id,
                "service_id": "svc123",
                "password": "pw-sfr",
                "space_id": "4242",
            }
        )
        sms, notification = self.pending_sms(account, "26441597")
        xml = (
            "<pushcra><cra><Call_id>26441597</Call_id><Status>Non distribué</Status><To>0612345678</To></cra></pushcra>"
        )
        response = self.post(account, data=xml.encode(), headers={"Content-Type": "application/xml"})
        self.assertEqual(response.status_code, 200)
        self.assert_state(sms, "error", "sms_not_delivered")
        self.assertEqual(notification.notification_status, "exception")
        bad = self.post(account, data=b"<pushcra><cra>", headers={"Content-Type": "application/xml"})
        self.assertEqual(bad.status_code, 400)

    # -- ASPSMS push (the URLs the connector gives ASPSMS) --------------------------------
    def test_aspsms_push(self):
        account = self.make_account("aspsms")
        self.aspsms.credits = 1000
        sms = self.send(["+33612345678"])
        self.assertEqual(sms.state, "pending")
        url = self.aspsms.received[0].json["URLDeliveryNotification"]
        self.assertTrue(url.startswith(account.webhook_url + "?"))
        # ASPSMS calls the URL with its placeholders filled in
        url = url.replace("<TransactionReferenceNumber>", sms.uuid).replace("<RCPNT>", "41791234567")
        url = url.replace("<SCTSUTC>", "23112026100005")
        response = self.url_open(url[len(account.get_base_url()) :])
        self.assertEqual(response.status_code, 200)
        self.assert_state(sms, "sent")
        placeholder = self.url_open(
            f"/sms_gateway/dlr/{account.webhook_token}?status=delivered&ref=<TransactionReferenceNumber>"
        )
        self.assertEqual(placeholder.status_code, 400)


@tagged("post_install", "-at_install", "sms_gateway_providers")
class TestGatewayDeliveryPull(GatewayEmulatorCase):
    def test_aspsms_pull_cron(self):
        account = self.make_account("aspsms")
        other = self.make_account("brevo", company=self.company_b)
        self.topup(self.company_b, 10)
        delivered, undelivered, rejected = self.send(["+41791234567", "+41780000002", "+41780000009"])
        self.assertEqual({delivered.state, undelivered.state, rejected.state}, {"pending"})
        brevo_sms = self.send(["+33612345678"], company=self.company_b)
        self.aspsms.reset()
        self.env["sms.sms"]._cron_gateway_fetch_delivery_reports()
        inquiries = [r.json for r in self.aspsms.received if r.path.endswith("InquireDeliveryNotifications")]
        self.assertEqual(len(inquiries), 1)
        self.assertEqual(
            set(inquiries[0]["TransactionReferenceNumbers"].split(";")),
            {delivered.uuid, undelivered.uuid, rejected.uuid},
        )
        self.assert_state(delivered, "sent")
        self.assert_state(undelivered, "error", "sms_not_delivered")
        self.assertIn("Absent subscriber", undelivered.error_message)
        self.assert_state(rejected, "error", "sms_rejected")
        self.assertEqual(brevo_sms.state, "pending", "Brevo pushes its reports: never pulled")
        self.assertEqual(brevo_sms.gateway_account_id, other)
        # nothing pending any more: the next run asks nothing
        self.aspsms.reset()
        self.env["sms.sms"]._cron_gateway_fetch_delivery_reports()
        self.assertFalse(self.aspsms.received)
        self.assertTrue(account.active)

    def test_sfr_pull_cron(self):
        sfr = SfrDmcEmulator().start()
        self.addCleanup(sfr.stop)
        self.env["sms.gateway.account"].search([("company_id", "=", self.company_a.id)]).active = False
        account = self.env["sms.gateway.account"].create(
            {
                "name": "SFR test",
                "provider": "sfr_dmc",
                "company_id": self.company_a.id,
                "sequence": 1,
                "base_url": f"{sfr.url}/DmcWS/1.5.8/JsonService",
                "timeout": 1.0,
                "service_id": sfr.service_id,
                "password": sfr.password,
                "space_id": sfr.space_id,
            }
        )
        delivered, undelivered, on_its_way = self.send(["+33612345678", SFR_UNDELIVERED_NUMBER, "+33612345679"])
        self.assertEqual({delivered.state, undelivered.state, on_its_way.state}, {"pending"})
        self.assertEqual(
            set(sfr.messages), {int(sms.provider_message_id) for sms in delivered | undelivered | on_its_way}
        )
        sfr.cra_statuses[int(on_its_way.provider_message_id)] = "En cours"
        sfr.reset()
        self.env["sms.sms"]._cron_gateway_fetch_delivery_reports()
        calls = [r.form for r in sfr.received if r.path.endswith("/getSingleCallCra")]
        self.assertEqual(len(calls), 1, "every report in one page")
        # the three were sent in parallel: any of them may have the smallest id
        smallest = min(int(sms.provider_message_id) for sms in delivered | undelivered | on_its_way)
        self.assertEqual(calls[0]["idSince"], str(smallest - 1))
        self.assert_state(delivered, "sent")
        self.assert_state(undelivered, "error", "sms_not_delivered")
        self.assertEqual(undelivered.error_message, "Non distribué")
        self.assert_state(on_its_way, "pending")
        # still on its way: asked again at the next run, alone
        sfr.cra_statuses[int(on_its_way.provider_message_id)] = "Distribué"
        sfr.reset()
        self.env["sms.sms"]._cron_gateway_fetch_delivery_reports()
        self.assertEqual(sfr.received[0].form["idSince"], str(int(on_its_way.provider_message_id) - 1))
        self.assert_state(on_its_way, "sent")
        sfr.reset()
        self.env["sms.sms"]._cron_gateway_fetch_delivery_reports()
        self.assertFalse(sfr.received, "nothing pending: nothing asked")
        # a failing provider is skipped quietly, the next run asks again
        again = self.send(["+33612345670"])
        sfr.mode = "http500"
        self.env["sms.sms"]._cron_gateway_fetch_delivery_reports()
        self.assert_state(again, "pending")
        self.assertTrue(account.active)

    def assert_state(self, sms, state, failure_type=False):
        sms.invalidate_recordset()
        self.assertEqual((sms.state, sms.failure_type), (state, failure_type))
