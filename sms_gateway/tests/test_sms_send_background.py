"""Big sends: the composer records the send and returns, the SMS are prepared in the background in committed
chunks, resumable, each recipient at most once, the whole cost reserved up front."""

from unittest.mock import patch

import psycopg2

from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import SmsGatewayCase


@tagged("post_install", "-at_install")
class TestSmsSendBackground(SmsGatewayCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        france = cls.env.ref("base.fr")
        Partner = cls.env["res.partner"]
        cls.recipients = Partner.create(
            [
                {"name": f"Big {index:02d}", "mobile": f"+336123400{index:02d}", "country_id": france.id}
                for index in range(10)
            ]
        )
        # the same number as Big 00, far from it (another chunk), and a contact without a valid number
        cls.twin = Partner.create({"name": "Big twin", "mobile": "+33612340000", "country_id": france.id})
        cls.invalid = Partner.create({"name": "Big invalid", "mobile": "12", "country_id": france.id})
        cls.selection = cls.recipients | cls.twin | cls.invalid
        ICP = cls.env["ir.config_parameter"].sudo()
        ICP.set_param("sms_gateway.background_send_threshold", 5)
        ICP.set_param("sms_gateway.prepare_chunk_size", 4)
        cls.topup(cls.company_a, 50)

    def composer(self, partners, body="Rappel : réunion demain", user=None):
        env = self.env(user=user or self.user_a)
        context = {
            "active_model": "res.partner",
            "active_ids": partners.ids,
            "default_composition_mode": "mass",
            "default_mass_keep_log": True,
            "default_res_ids": partners.ids,
        }
        return env["sms.composer"].with_context(**context).create({"body": body})

    def send(self, partners=None, **kwargs):
        composer = self.composer(partners or self.selection, **kwargs)
        action = composer.action_send_sms()
        return composer.sms_send_batch_id.sudo(), action

    def sms_of(self, batch):
        return self.env["sms.sms"].sudo().search([("send_batch_id", "=", batch.id)])

    def test_send_is_recorded_then_prepared_in_chunks(self):
        balance = self.balance(self.company_a)
        batch, action = self.send()
        # the request only recorded the send and reserved its whole cost
        self.assertEqual(action["params"]["next"]["res_model"], "sms.send.batch")
        self.assertEqual(action["params"]["next"]["res_id"], batch.id)
        self.assertIn("being prepared", action["params"]["message"])
        self.assertFalse(self.sms_of(batch), "no SMS created in the request")
        self.assertEqual((batch.preparation, batch.state), ("preparing", "preparing"))
        self.assertEqual(batch.valid_count, 10)
        self.assertEqual(batch.credit_reserved, 10)
        self.assertEqual(self.balance(self.company_a), balance - 10, "the whole send reserved at once")
        self.assertEqual(batch.credit_move_id.quantity, -10)
        self.assertEqual(batch.remaining_count, 10)

        # the job: 12 recipients, 4 per chunk
        batch._prepare_next_chunk()
        self.assertEqual(batch.prepared_count, 4)
        self.assertEqual(batch.prepared_up_to, self.selection.sorted("id")[3].id)
        self.assertEqual(batch.preparation, "preparing")
        self.env["sms.send.batch"]._cron_prepare()
        sms = self.sms_of(batch)
        self.assertEqual(batch.preparation, "prepared")
        self.assertEqual(batch.prepared_count, 12)
        self.assertEqual(len(sms), 12, "one SMS per recipient")
        self.assertEqual(len(set(sms.mapped("send_res_id"))), 12)
        outgoing = sms.filtered(lambda s: s.state == "outgoing")
        self.assertEqual(len(outgoing), 10)
        self.assertEqual(len(set(outgoing.mapped("number"))), 10, "each number once")
        twin = sms.filtered(lambda s: s.send_res_id == self.twin.id)
        self.assertEqual(
            (twin.state, twin.failure_type), ("canceled", "sms_duplicate"), "duplicate of an earlier chunk"
        )
        invalid = sms.filtered(lambda s: s.send_res_id == self.invalid.id)
        self.assertEqual(invalid.failure_type, "sms_number_format")
        self.assertEqual(set(outgoing.mapped("credit_move_id")), {batch.credit_move_id}, "paid by the reservation")
        self.assertEqual(self.balance(self.company_a), balance - 10)
        self.assertEqual((batch.credit_used, batch.credit_total), (10, 10))
        # chatter of each recipient, as a synchronous send
        self.assertIn("Rappel", self.recipients[5].message_ids[:1].body)

        # dispatch: sent, the reservation settled, the sender told
        self.run_queue()
        batch.invalidate_recordset()
        self.assertEqual(batch.state, "done")
        self.assertEqual(batch.sent_count, 10)
        self.assertEqual(batch.credit_move_id.state, "done")
        self.assertTrue(batch.done_notified)
        self.env.cr.precommit.run()  # the bus writes its notifications when the transaction commits
        notified = self.env["bus.bus"].sudo().search([("message", "ilike", "SMS send finished")])
        self.assertEqual(len(notified), 1)
        self.assertIn("10 sent, 2 failed or canceled", notified.message)
        self.assertIn(f'"res.partner",{self.user_a.partner_id.id}]', notified.channel, "to the sender")

    def test_crashed_chunk_is_prepared_again_never_twice(self):
        batch, _action = self.send()
        batch._prepare_next_chunk()
        # a worker dies in the middle of the second chunk: its transaction is rolled back
        with self.assertRaises(RuntimeError), self.env.cr.savepoint():
            batch._prepare_next_chunk()
            raise RuntimeError("worker killed")
        batch.invalidate_recordset()
        self.assertEqual(batch.prepared_count, 4)
        self.assertEqual(len(self.sms_of(batch)), 4)
        self.env["sms.send.batch"]._cron_prepare()
        sms = self.sms_of(batch)
        self.assertEqual(len(sms), 12)
        self.assertEqual(sorted(sms.mapped("send_res_id")), sorted(self.selection.ids), "none skipped, none twice")
        # the database refuses a second SMS for a recipient of the same send
        first = sms[0]
        with self.assertRaises(psycopg2.IntegrityError), mute_logger("odoo.sql_db"), self.env.cr.savepoint():
            self.env["sms.sms"].sudo().create(
                {"number": first.number, "body": "x", "send_batch_id": batch.id, "send_res_id": first.send_res_id}
            )

    def test_recipients_added_after_the_send_are_not_part_of_it(self):
        batch, _action = self.send()
        late = self.env["res.partner"].create({"name": "Big late", "mobile": "+33612349999"})
        self.env["sms.send.batch"]._cron_prepare()
        self.assertNotIn(late.id, self.sms_of(batch).mapped("send_res_id"))

    def test_cancel_stops_and_refunds(self):
        balance = self.balance(self.company_a)
        batch, _action = self.send()
        batch._prepare_next_chunk()
        self.assertEqual(self.balance(self.company_a), balance - 10)
        # neither another user of the company nor a reader may cancel someone else's send
        for user in (self.reader_a,):
            with self.assertRaises(UserError):
                batch.with_user(user).action_cancel()
        batch.with_user(self.user_a).action_cancel()
        batch.invalidate_recordset()
        self.assertEqual(batch.preparation, "canceled")
        self.assertEqual(batch.state, "canceled")
        self.assertEqual(set(self.sms_of(batch).mapped("state")), {"canceled"})
        self.assertEqual(self.balance(self.company_a), balance, "everything given back")
        self.env["sms.send.batch"]._cron_prepare()
        self.assertEqual(len(self.sms_of(batch)), 4, "no more preparation after a cancel")

    def test_a_chunk_that_keeps_failing_stops_its_send_and_refunds(self):
        balance = self.balance(self.company_a)
        batch, _action = self.send()
        batch._prepare_next_chunk()
        Batch = type(self.env["sms.send.batch"])
        with (
            patch.object(Batch, "_prepare_next_chunk", side_effect=ValueError("template broken"), autospec=True),
            mute_logger("odoo.addons.sms_gateway.models.sms_send_batch"),
        ):
            self.env["sms.send.batch"]._cron_prepare()
        batch.invalidate_recordset()
        self.assertEqual((batch.preparation, batch.preparation_failures), ("canceled", 3), "three tries, then stopped")
        self.assertEqual(batch.preparation_error, "template broken")
        self.assertEqual(len(self.sms_of(batch)), 4, "what the first chunk queued stays queued")
        self.assertEqual(self.balance(self.company_a), balance - 4, "the credit not used is given back")
        self.env.cr.precommit.run()
        notified = self.env["bus.bus"].sudo().search([("message", "ilike", "SMS send stopped")])
        self.assertIn("template broken", notified.message)

    def test_refused_before_anything_when_too_big_or_short_of_credit(self):
        self.env["ir.config_parameter"].sudo().set_param("sms_gateway.max_recipients", 11)
        with self.assertRaises(UserError) as caught:
            self.send()
        self.assertIn("at most 11", str(caught.exception))
        self.env["ir.config_parameter"].sudo().set_param("sms_gateway.max_recipients", 1000)
        self.env["sms.credit.move"].sudo().create(
            {"company_id": self.company_a.id, "move_type": "adjustment", "quantity": -45, "note": "test"}
        )
        batches = self.env["sms.send.batch"].sudo().search_count([])
        with self.assertRaises(UserError) as caught:
            self.send()
        self.assertIn("Insufficient credit", str(caught.exception))
        self.assertEqual(self.env["sms.send.batch"].sudo().search_count([]), batches, "nothing recorded")

    def test_message_written_per_recipient_in_the_background(self):
        batch, _action = self.send(body="Bonjour {{ object.name }}, réunion demain.")
        self.env["sms.send.batch"]._cron_prepare()
        sms = self.sms_of(batch).filtered(lambda s: s.state == "outgoing")
        self.assertEqual(len(sms), 10)
        for record in sms:
            name = self.env["res.partner"].browse(record.send_res_id).name
            self.assertEqual(record.body, f"Bonjour {name}, réunion demain.")

    def test_small_sends_stay_immediate(self):
        batch, _action = self.send(self.recipients[:3])
        self.assertEqual(batch.preparation, "prepared")
        self.assertEqual(len(self.sms_of(batch)), 3)

    def test_other_company_does_not_see_the_send(self):
        batch, _action = self.send()
        self.assertFalse(self.env["sms.send.batch"].with_user(self.user_b).search([("id", "=", batch.id)]))
