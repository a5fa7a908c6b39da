"""Inbound SMS over real HTTP: providers' emulators post replies and opt-outs to the accounts' inbound URLs;
replies reach the chatter or the Inbox, STOP reaches the blacklist and the next mass send skips the number."""

import json
import os
import select
import time

import psycopg2

from odoo import sql_db
from odoo.tests import HttpCase, tagged

from ..models import sms_inbound
from .emulators.generic_http import GenericHttpEmulator
from .test_gateway_providers import GatewayEmulatorCase


@tagged("post_install", "-at_install", "sms_gateway_providers")
class TestSmsInbound(GatewayEmulatorCase, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.topup(cls.company_b, 100)
        cls.follower = cls.user_a.partner_id

    # -- helpers ----------------------------------------------------------------
    def inbound_url(self, account):
        return f"{self.base_url()}/sms_gateway/inbound/{account.webhook_token}"

    def sent_from_chatter(self, account, partner, body="Rappel : rendez-vous demain à 9h."):
        """An SMS sent from ``partner``'s chatter through ``account`` (state "Sent"), the partner followed by
        ``self.follower``."""
        partner.message_subscribe(partner_ids=self.follower.ids)
        partner.with_company(account.company_id)._message_sms(body)
        self.run_queue()
        sms = self.env["sms.sms"].sudo().search([("partner_id", "=", partner.id)], order="id desc", limit=1)
        self.assertEqual((sms.state, sms.gateway_account_id), ("pending", account))
        return sms

    def process(self):
        self.env["sms.inbound"]._cron_process_inbound()

    def inbound(self, **domain):
        return self.env["sms.inbound"].sudo().search([(k, "=", v) for k, v in domain.items()])

    def blacklisted(self, number):
        return self.env["phone.blacklist"].sudo().search([("number", "=", number)])

    def mass_send(self, partners, user=None):
        composer = (
            self.env(user=user or self.user_a)["sms.composer"]
            .with_context(
                active_model="res.partner",
                active_ids=partners.ids,
                default_composition_mode="mass",
                default_mass_keep_log=True,
                default_res_ids=partners.ids,
            )
            .create({"body": "Fête de la ville samedi"})
        )
        return composer

    # -- replies reach the chatter ---------------------------------------------------
    def test_twilio_reply_in_the_contacts_chatter(self):
        account = self.make_account("twilio")
        sms = self.sent_from_chatter(account, self.partner_a)
        response = self.twilio.send_inbound(self.inbound_url(account), sms.number, "Je serai en retard de 10 min")
        self.assertEqual(response.status_code, 200)
        self.assertIn("<Response>", response.text, "Twilio gets an empty TwiML answer: no reply SMS")
        self.assertEqual(response.headers["Content-Type"].split(";")[0], "text/xml")
        inbound = self.inbound(account_id=account.id)
        self.assertEqual((inbound.state, inbound.number), ("received", "+33612345678"))
        self.process()
        self.assertEqual((inbound.state, inbound.kind, inbound.sms_id), ("posted", "reply", sms))
        self.assertEqual((inbound.res_model, inbound.res_id), ("res.partner", self.partner_a.id))
        message = inbound.mail_message_id
        self.assertIn("Je serai en retard de 10 min", message.body)
        self.assertIn(message, self.partner_a.message_ids)
        self.assertEqual(message.author_id, self.partner_a, "posted as coming from the contact")
        self.assertEqual(message.subtype_id, self.env.ref("mail.mt_comment"))
        self.assertIn(self.follower, message.notification_ids.res_partner_id, "the followers are notified")
        self.assertEqual(inbound.company_id, self.company_a)

    def test_ovh_and_vonage_replies(self):
        ovh = self.make_account("ovh")
        sms = self.sent_from_chatter(ovh, self.partner_a)
        self.assertEqual(self.ovh.send_inbound(self.inbound_url(ovh), sms.number, "Merci !").status_code, 200)
        vonage = self.make_account("vonage", company=self.company_b)
        sms_b = self.sent_from_chatter(vonage, self.partner_b)
        response = self.vonage.send_inbound(self.inbound_url(vonage), sms_b.number, "Bien reçu", method="POST")
        self.assertEqual(response.status_code, 200)
        self.process()
        self.assertEqual(self.inbound(account_id=ovh.id).mail_message_id.model, "res.partner")
        self.assertIn("Merci !", self.partner_a.message_ids[0].body)
        self.assertIn("Bien reçu", self.partner_b.message_ids[0].body)
        self.assertEqual(self.inbound(account_id=vonage.id).company_id, self.company_b)

    def test_generic_http_configured_field_names(self):
        account = self.env["sms.gateway.account"].create(
            {
                "name": "Generic",
                "provider": "generic_http",
                "company_id": self.company_a.id,
                "base_url": "http://127.0.0.1:9/send",
                "extra_config": json.dumps(
                    {"generic_inbound_from": "orig", "generic_inbound_text": "msg", "generic_inbound_id": "ref"}
                ),
            }
        )
        url = self.inbound_url(account)
        response = GenericHttpEmulator.send_inbound(url, {"orig": "0612345678", "msg": "Oui", "ref": "42"}, "GET")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.text, "OK")
        inbound = self.inbound(account_id=account.id)
        self.assertEqual((inbound.number, inbound.body, inbound.provider_message_id), ("+33612345678", "Oui", "42"))
        self.assertEqual(GenericHttpEmulator.send_inbound(url, {"from": "0612345678", "text": "x"}).status_code, 400)
        self.process()
        self.assertEqual(inbound.state, "inbox", "no SMS of this account went to that number")

    # -- bad input: bare 4xx, nothing stored --------------------------------------------
    def test_refused_requests_store_nothing(self):
        account = self.make_account("twilio")
        url = self.inbound_url(account)
        cases = [
            (404, self.twilio.send_inbound(url.replace(account.webhook_token, "x" * 43), "+33612345678", "Hi")),
            (403, self.twilio.send_inbound(url, "+33612345678", "Hi", sign=False)),
            (403, self.twilio.send_inbound(url, "+33612345678", "Hi", signed_url=url + "?forged=1")),
        ]
        self.twilio.auth_token, token = "another-token", self.twilio.auth_token
        try:
            cases.append((403, self.twilio.send_inbound(url, "+33612345678", "Hi")))
        finally:
            self.twilio.auth_token = token
        for status, response in cases:
            self.assertEqual(response.status_code, status)
            self.assertNotIn("33612345678", response.text)
        vonage = self.make_account("vonage")
        vonage_url = self.inbound_url(vonage)
        self.assertEqual(self.url_open(vonage_url + "?to=33700000000&text=Hi").status_code, 400)  # no msisdn
        brevo = self.make_account("brevo")
        brevo_url = self.inbound_url(brevo)
        headers = {"Content-Type": "application/json"}
        self.assertEqual(self.url_open(brevo_url, data="{not json", headers=headers).status_code, 400)
        self.assertEqual(self.url_open(brevo_url, data="[1, 2]", headers=headers).status_code, 400)
        big = json.dumps({"msg_status": "replied", "to": "33612345678", "messageId": 1, "reply": "x" * 1100000})
        self.assertEqual(self.url_open(brevo_url, data=big, headers=headers).status_code, 413)
        aspsms = self.make_account("aspsms")  # ASPSMS forwards no replies
        self.assertEqual(self.url_open(self.inbound_url(aspsms), data={"from": "+33612345678"}).status_code, 404)
        account.active = False
        self.assertEqual(self.twilio.send_inbound(url, "+33612345678", "Hi").status_code, 404)
        self.assertFalse(self.env["sms.inbound"].sudo().search([]))

    def test_replay_stored_once(self):
        account = self.make_account("twilio")
        sms = self.sent_from_chatter(account, self.partner_a)
        for _attempt in range(3):
            response = self.twilio.send_inbound(self.inbound_url(account), sms.number, "Présent", sid="SMreplay1")
            self.assertEqual(response.status_code, 200)
        self.process()
        inbound = self.inbound(account_id=account.id)
        self.assertEqual(len(inbound), 1)
        self.assertEqual(len(self.partner_a.message_ids.filtered(lambda m: "Présent" in m.body)), 1)
        # the same id on another account is another message
        other = self.make_account("twilio", company=self.company_b)
        self.twilio.send_inbound(self.inbound_url(other), sms.number, "Présent", sid="SMreplay1")
        self.assertEqual(len(self.inbound(provider_message_id="SMreplay1")), 2)

    # -- the webhook's per-process settings follow the account at once ------------------
    def test_changed_account_refused_or_used_at_once(self):
        account = self.make_account("twilio")
        url = self.inbound_url(account)
        self.assertEqual(self.twilio.send_inbound(url, "+33612345678", "Un").status_code, 200)  # settings kept
        self.assertIn(account.id, account._gateway_webhook_settings_cache())
        # a new token: the old URL is refused at once, the new one works
        account.action_regenerate_webhook_token()
        self.env.flush_all()  # committed, as between two requests
        self.assertEqual(self.twilio.send_inbound(url, "+33612345678", "Deux").status_code, 404)
        url = self.inbound_url(account)
        self.assertEqual(self.twilio.send_inbound(url, "+33612345678", "Trois").status_code, 200)
        # a new auth token: what the old one signs is refused at once
        account.password = "new-twilio-token"
        self.env.flush_all()
        self.assertEqual(self.twilio.send_inbound(url, "+33612345678", "Quatre").status_code, 403)
        self.twilio.auth_token, token = "new-twilio-token", self.twilio.auth_token
        try:
            self.assertEqual(self.twilio.send_inbound(url, "+33612345678", "Cinq").status_code, 200)
            # written by another process (nothing dropped here): the account's write_date is another key
            self.env.flush_all()
            self.env.cr.execute(
                "UPDATE sms_gateway_account SET password = %s, write_date = write_date + interval '1 second'"
                " WHERE id = %s",
                [token, account.id],
            )
            account.invalidate_recordset()
            self.assertEqual(self.twilio.send_inbound(url, "+33612345678", "Six").status_code, 403)
        finally:
            self.twilio.auth_token = token
        self.assertEqual(self.twilio.send_inbound(url, "+33612345678", "Sept").status_code, 200)
        # archived: refused at once, its settings dropped
        account.active = False
        self.assertNotIn(account.id, account._gateway_webhook_settings_cache())
        self.env.flush_all()
        self.assertEqual(self.twilio.send_inbound(url, "+33612345678", "Huit").status_code, 404)
        self.assertEqual(self.inbound(account_id=account.id).mapped("body"), ["Sept", "Cinq", "Trois", "Un"])

    def test_every_stored_webhook_triggers_the_cron(self):
        """One trigger per request that stored something, never skipped because one is pending: a running
        cron deletes the triggers it saw when it ends, whatever came after its last search."""
        account = self.make_account("twilio")
        url = self.inbound_url(account)
        cron = self.env.ref("sms_gateway.ir_cron_sms_inbound_process")
        Trigger = self.env["ir.cron.trigger"].sudo()
        Trigger.search([("cron_id", "=", cron.id)]).unlink()
        self.twilio.send_inbound(url, "+33612345678", "Un", sid="SMtrig1")
        self.twilio.send_inbound(url, "+33612345678", "Deux", sid="SMtrig2")
        self.twilio.send_inbound(url, "+33612345678", "Un", sid="SMtrig1")  # a replay stores nothing
        triggers = Trigger.search([("cron_id", "=", cron.id)])
        self.assertEqual(len(triggers), 2)
        self.assertTrue(all(trigger.call_at <= cron.env.cr.now() for trigger in triggers), "due now")
        cron.active = False  # as ir.cron._trigger: an inactive cron gets no trigger
        self.env.flush_all()
        self.twilio.send_inbound(url, "+33612345678", "Trois")
        self.assertEqual(len(Trigger.search([("cron_id", "=", cron.id)])), 2)
        self.assertEqual(len(self.inbound(account_id=account.id)), 3)

    def test_cron_workers_notified_through_one_connection(self):
        listener = psycopg2.connect(**sql_db.connection_info_for("postgres")[1])
        listener.autocommit = True
        try:
            with listener.cursor() as cur:
                cur.execute("LISTEN cron_trigger")
            payload = f"{self.env.cr.dbname}-notify-test"

            def received():
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline:
                    select.select([listener], [], [], 0.2)
                    listener.poll()
                    while listener.notifies:
                        if listener.notifies.pop().payload == payload:
                            return True
                return False

            sms_inbound.notify_cron_workers(payload)
            self.assertTrue(received())
            connection = sms_inbound._notify_connection[os.getpid()]
            sms_inbound.notify_cron_workers(payload)
            self.assertTrue(received())
            self.assertIs(sms_inbound._notify_connection[os.getpid()], connection, "kept open")
            connection.close()  # dropped by the server: opened again
            sms_inbound.notify_cron_workers(payload)
            self.assertTrue(received())
            self.assertIsNot(sms_inbound._notify_connection[os.getpid()], connection)
        finally:
            listener.close()

    # -- walls --------------------------------------------------------------------------
    def test_never_posted_into_another_company(self):
        account_b = self.make_account("twilio", company=self.company_b)
        sms_a = self.sent_from_chatter(self.make_account("vonage"), self.partner_a)
        # company B's account gets a reply from a number only company A wrote to: not matched, B's Inbox
        self.twilio.send_inbound(self.inbound_url(account_b), sms_a.number, "Qui êtes-vous ?")
        # company B wrote to a contact of company A: the reply is B's, never posted on A's contact
        self.partner_a.company_id = self.company_a
        self.partner_a.with_company(self.company_b)._message_sms("Rappel B")
        self.run_queue()
        self.twilio.send_inbound(self.inbound_url(account_b), sms_a.number, "Réponse à B", sid="SMb2")
        before = set(self.partner_a.message_ids.ids)
        self.process()
        for inbound in self.inbound(account_id=account_b.id):
            self.assertEqual((inbound.state, inbound.company_id), ("inbox", self.company_b))
        self.assertEqual(set(self.partner_a.message_ids.ids), before)
        Inbound = self.env["sms.inbound"]
        self.assertEqual(len(Inbound.with_user(self.user_b).search([])), 2, "the Inbox of B's SMS users")
        self.assertFalse(Inbound.with_user(self.user_a).search([]), "A's users never see B's")

    def test_inbox_need_to_know(self):
        account = self.make_account("twilio")
        mine = self.partner_a.with_user(self.user_a).with_company(self.company_a)
        mine._message_sms("Rappel")
        self.run_queue()
        url = self.inbound_url(account)
        self.twilio.send_inbound(url, "+33612345678", "Réponse au rappel")
        self.twilio.send_inbound(url, "+33699999999", "Inconnu")
        self.process()
        other_user = self.reader_a.copy({"login": "sms_user_a2", "groups_id": [(6, 0, self.user_a.groups_id.ids)]})
        Inbound = self.env["sms.inbound"]
        self.assertEqual(Inbound.with_user(self.user_a).search([]).mapped("body"), ["Inconnu", "Réponse au rappel"])
        self.assertEqual(Inbound.with_user(other_user).search([]).mapped("body"), ["Inconnu"], "the Inbox only")
        self.assertEqual(len(Inbound.with_user(self.reader_a).search([])), 2)
        posted = self.inbound(body="Réponse au rappel")
        self.assertEqual(posted.with_user(self.user_a).action_open_record()["res_id"], self.partner_a.id)

    # -- STOP ---------------------------------------------------------------------------
    def test_stop_blacklists_and_next_mass_send_says_opted_out(self):
        """The Done-when scenario: a contact replies STOP through an emulator, lands in the blacklist, and
        the next mass send skips them with "Opted out"; the reply is in the contact's chatter."""
        account = self.make_account("vonage")
        sms = self.sent_from_chatter(account, self.partner_a)
        self.assertEqual(self.vonage.send_inbound(self.inbound_url(account), sms.number, "Stop").status_code, 200)
        self.process()
        inbound = self.inbound(account_id=account.id)
        self.assertEqual((inbound.kind, inbound.state), ("stop", "posted"))
        entry = self.blacklisted("+33612345678")
        self.assertTrue(entry.active)
        self.assertEqual(entry.sms_optout_date, inbound.date)
        self.assertEqual(entry.sms_optout_company_id, self.company_a)
        self.assertIn("Stop", entry.sms_optout_reason)
        self.assertIn("opted out (STOP)", self.partner_a.message_ids[0].body)
        self.assertFalse(
            self.env["sms.sms"].sudo().search([("number", "=", "+33612345678"), ("state", "=", "outgoing")])
        )

        composer = self.mass_send(self.partner_a | self.partner_b)
        self.assertEqual((composer.sms_blacklist_count, composer.sms_valid_count), (1, 1))
        composer.action_send_sms()
        skipped = (
            self.env["sms.sms"].sudo().search([("partner_id", "=", self.partner_a.id), ("state", "=", "canceled")])
        )
        self.assertEqual(skipped.failure_type, "sms_blacklist")
        self.assertEqual(skipped.error_display, "Opted out")
        self.assertEqual(skipped.credit_charged, 0)
        self.run_queue()
        to_b = self.env["sms.sms"].sudo().search([("partner_id", "=", self.partner_b.id)], order="id desc", limit=1)
        self.assertEqual(to_b.state, "pending")
        # unticking "Use blacklist" does not reach a number that replied STOP
        composer = self.mass_send(self.partner_a | self.partner_b)
        composer.mass_use_blacklist = False
        self.assertEqual((composer.sms_blacklist_count, composer.sms_valid_count), (1, 1))
        composer.action_send_sms()
        last = self.env["sms.sms"].sudo().search([("partner_id", "=", self.partner_a.id)], order="id desc", limit=1)
        self.assertEqual((last.state, last.failure_type, last.error_display), ("canceled", "sms_optout", "Opted out"))

    def test_stop_keywords(self):
        account = self.make_account("twilio")
        url = self.inbound_url(account)
        texts = {
            "STOP": "stop",
            "stop sms": "stop",
            " Arrêt. ": "stop",
            "ARRET": "stop",
            "désabonner": "stop",
            "Unsubscribe!": "stop",
            "STOP 36608": "stop",
            "Ne stoppez pas les rappels": "reply",
            "Pourquoi STOP ?": "reply",
            "Start": "start",
        }
        for i, text in enumerate(texts):
            self.twilio.send_inbound(url, f"+3361111110{i}", text)
        self.process()
        for i, (text, kind) in enumerate(texts.items()):
            with self.subTest(text=text):
                self.assertEqual(self.inbound(number=f"+3361111110{i}").kind, kind)
                self.assertEqual(bool(self.blacklisted(f"+3361111110{i}").active), kind == "stop")
        # the list is the company's
        self.company_a.sms_stop_keywords = "FIN, Désinscription"
        self.twilio.send_inbound(url, "+33622222201", "fin")
        self.twilio.send_inbound(url, "+33622222202", "STOP")
        self.process()
        self.assertTrue(self.blacklisted("+33622222201").active)
        self.assertFalse(self.blacklisted("+33622222202"))

    def test_stop_only_blacklists_its_own_number(self):
        account = self.make_account("twilio")
        self.twilio.send_inbound(self.inbound_url(account), "+33612345678", "STOP +33751234567")
        self.twilio.send_inbound(self.inbound_url(account), "+33612345679", "STOP")
        self.process()
        self.assertFalse(self.blacklisted("+33751234567"), "a number in the text is never blacklisted")
        self.assertEqual(
            sorted(self.env["phone.blacklist"].sudo().search([]).mapped("number")), ["+33612345678", "+33612345679"]
        )

    def test_provider_unsubscribe_events(self):
        brevo = self.make_account("brevo")
        url = self.inbound_url(brevo)
        self.assertEqual(self.brevo.send_inbound(url, "+33612345678", event="unsubscribed").status_code, 200)
        self.assertEqual(self.brevo.send_inbound(url, "+33612345678", event="delivered").status_code, 200)
        twilio = self.make_account("twilio", company=self.company_b)
        self.twilio.send_inbound(self.inbound_url(twilio), "+33751234567", "Arrête", opt_out_type="STOP")
        self.process()
        self.assertEqual(self.inbound(account_id=brevo.id).kind, "unsubscribe", "the delivery event is not stored")
        self.assertEqual(self.inbound(account_id=twilio.id).kind, "unsubscribe")
        entry = self.blacklisted("+33612345678")
        self.assertTrue(entry.active)
        self.assertIn("provider", entry.sms_optout_reason)
        self.assertTrue(self.blacklisted("+33751234567").active)

    def test_start_lifts_when_the_company_allows(self):
        account = self.make_account("twilio")
        url = self.inbound_url(account)
        self.twilio.send_inbound(url, "+33612345678", "STOP")
        self.process()
        self.assertTrue(self.blacklisted("+33612345678").active)
        self.company_a.sms_start_allowed = False
        self.twilio.send_inbound(url, "+33612345678", "START")
        self.process()
        self.assertTrue(self.blacklisted("+33612345678").active, "the company does not allow it")
        self.company_a.sms_start_allowed = True
        self.twilio.send_inbound(url, "+33612345678", "start")
        self.process()
        self.assertFalse(self.blacklisted("+33612345678").active)
        # a number a person blacklisted, or one that opted out from another company, stays
        self.env["phone.blacklist"].sudo().add("+33699999999", message="Asked by phone")
        self.twilio.send_inbound(url, "+33699999999", "STOP")
        other = self.make_account("twilio", company=self.company_b)
        self.twilio.send_inbound(self.inbound_url(other), "+33688888888", "STOP")
        self.process()
        self.twilio.send_inbound(url, "+33699999999", "START")
        self.twilio.send_inbound(url, "+33688888888", "START")
        self.process()
        self.assertTrue(self.blacklisted("+33699999999").active)
        self.assertFalse(self.blacklisted("+33699999999").sms_optout_reason, "a person's blacklisting keeps its reason")
        self.assertTrue(self.blacklisted("+33688888888").active)

    def test_confirmation_sms_off_by_default(self):
        account = self.make_account("twilio")
        url = self.inbound_url(account)
        Sms = self.env["sms.sms"].sudo()
        self.twilio.send_inbound(url, "+33612345678", "STOP")
        self.process()
        self.assertFalse(Sms.search([("number", "=", "+33612345678")]))
        self.company_a.write({"sms_optout_confirm": True, "sms_optout_confirm_text": "Désinscription confirmée."})
        self.twilio.send_inbound(url, "+33751234567", "STOP")
        self.twilio.send_inbound(url, "+33751234567", "STOP")  # a second STOP: no second confirmation
        self.process()
        confirmation = Sms.search([("number", "=", "+33751234567")])
        self.assertEqual(confirmation.mapped("body"), ["Désinscription confirmée."])
        self.assertEqual((confirmation.company_id, confirmation.state), (self.company_a, "outgoing"))
