from datetime import timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from .common import SmsGatewayCase


@tagged("post_install", "-at_install")
class TestSmsLedger(SmsGatewayCase):
    def test_topup_and_balance_per_company(self):
        self.topup(self.company_a, 100)
        self.topup(self.company_b, 7)
        self.assertEqual(self.balance(self.company_a), 100)
        self.assertEqual(self.balance(self.company_b), 7)

    def test_send_reserves_then_consumes(self):
        self.topup(self.company_a, 10)
        sms = self.queue_sms(self.company_a, "+33612345678")
        self.assertEqual(sms.state, "outgoing")
        self.assertEqual(sms.gateway_account_id, self.account_a)
        self.assertEqual((sms.sms_segment_count, sms.credit_charged), (1, 1))
        self.assertEqual(self.balance(self.company_a), 9, "credit is reserved as soon as the SMS is queued")
        self.assertEqual(self.company_a.sms_credit_reserved, 1)
        self.assertEqual(sms.credit_move_id.state, "reserved")

        self.run_queue()
        self.assertEqual(sms.state, "pending")
        self.assertTrue(sms.provider_message_id.startswith("sandbox-"))
        self.assertTrue(sms.sent_date)
        self.assertEqual(self.balance(self.company_a), 9)
        self.assertEqual(self.company_a.sms_credit_reserved, 0)
        self.assertEqual(sms.credit_move_id.state, "done")
        self.assertEqual(sms.credit_move_id.quantity, -1)
        self.assertEqual(self.balance(self.company_b), 0, "another company's credit is untouched")

    def test_long_and_unicode_messages_cost_per_segment(self):
        self.topup(self.company_a, 20)
        self.account_a.credits_per_segment = 2
        long_sms = self.queue_sms(self.company_a, "+33612345678", body="a" * 161)  # 2 GSM-7 segments
        emoji_sms = self.queue_sms(self.company_a, "+33612345678", body="Bonjour 🙂")  # 1 UCS-2 segment
        self.assertEqual((long_sms.sms_segment_count, long_sms.sms_encoding, long_sms.credit_charged), (2, "GSM-7", 4))
        self.assertEqual(
            (emoji_sms.sms_segment_count, emoji_sms.sms_encoding, emoji_sms.credit_charged), (1, "UCS-2", 2)
        )
        self.assertEqual(self.balance(self.company_a), 14)

    def test_insufficient_credit_not_sent_not_charged(self):
        self.topup(self.company_a, 1)
        self.account_a.credits_per_segment = 3
        moves_before = self.env["sms.credit.move"].search_count([("company_id", "=", self.company_a.id)])
        sms = self.queue_sms(self.company_a, "+33612345678")
        self.assertEqual(sms.state, "error")
        self.assertEqual(sms.failure_type, "sms_credit")
        self.assertEqual(sms.error_message, "Insufficient credit: 3 SMS needed, 1 available")
        self.assertEqual(sms.error_display, "Insufficient credit: 3 SMS needed, 1 available")
        self.assertFalse(sms.credit_charged)
        self.assertEqual(self.balance(self.company_a), 1)
        self.assertEqual(
            self.env["sms.credit.move"].search_count([("company_id", "=", self.company_a.id)]),
            moves_before,
            "no ledger row for an SMS that was refused",
        )
        self.run_queue()
        self.assertEqual(sms.state, "error", "a refused SMS is never handed to the provider")
        self.assertNotIn(sms.uuid, [m.ref for _pid, m in self.sandbox_outbox()])

    def test_batch_takes_what_fits_in_order(self):
        self.topup(self.company_a, 2)
        sms = (
            self.env["sms.sms"]
            .sudo()
            .create([{"number": f"+3361234567{i}", "body": "Hello", "company_id": self.company_a.id} for i in range(4)])
        )
        self.assertEqual(sms.mapped("state"), ["outgoing", "outgoing", "error", "error"])
        self.assertEqual(self.balance(self.company_a), 0)
        self.assertEqual(sms[2].error_message, "Insufficient credit: 1 SMS needed, 0 available")
        move = sms[0].credit_move_id
        self.assertEqual((move.quantity, move.sms_count, move.move_type), (-2, 2, "consumption"))

    def test_failure_refunds(self):
        self.topup(self.company_a, 5)
        sms = self.queue_sms(self.company_a, "+33600000001")  # sandbox: provider rejects the number
        self.assertEqual(self.balance(self.company_a), 4)
        self.run_queue()
        self.assertEqual((sms.state, sms.failure_type), ("error", "sms_number_format"))
        self.assertEqual(sms.error_message, "Invalid number (sandbox test number)")
        self.assertEqual(sms.credit_charged, 0)
        self.assertEqual(self.balance(self.company_a), 5, "credit of an SMS that was not sent comes back")
        refund = self.env["sms.credit.move"].search(
            [("company_id", "=", self.company_a.id), ("move_type", "=", "refund")]
        )
        self.assertEqual((refund.quantity, refund.sms_id), (1, sms))
        self.assertEqual(sms.credit_move_id.state, "done")

    def test_transient_failure_retried_then_refunded(self):
        self.topup(self.company_a, 5)
        self.env["ir.config_parameter"].sudo().set_param("sms_gateway.max_attempts", 2)
        sms = self.queue_sms(self.company_a, "+33600000003")  # sandbox: provider down
        self.run_queue()
        self.assertEqual((sms.state, sms.attempt_count), ("outgoing", 1), "a transient failure is retried")
        self.assertEqual(sms.failure_type, "sms_server")
        self.assertEqual(sms.error_message, "Provider unreachable (sandbox test number)")
        self.assertGreater(sms.next_try_date, fields.Datetime.now())
        self.assertEqual(self.balance(self.company_a), 4, "credit stays reserved while a retry is planned")
        # not due yet: the queue leaves it alone
        self.run_queue()
        self.assertEqual(sms.attempt_count, 1)
        with freeze_time(fields.Datetime.now() + timedelta(hours=1)):
            self.run_queue()
        self.assertEqual((sms.state, sms.attempt_count, sms.failure_type), ("error", 2, "sms_server"))
        self.assertEqual(self.balance(self.company_a), 5)

    def test_manual_moves(self):
        Move = self.env["sms.credit.move"].with_user(self.manager_a)
        Move.create({"move_type": "topup", "quantity": 10, "company_id": self.company_a.id})
        Move.create({"move_type": "adjustment", "quantity": -4, "company_id": self.company_a.id})
        self.assertEqual(self.balance(self.company_a), 6)
        with self.assertRaises(UserError):
            Move.create({"move_type": "adjustment", "quantity": -7, "company_id": self.company_a.id})
        with self.assertRaises(UserError):
            Move.create({"move_type": "consumption", "quantity": -1, "company_id": self.company_a.id})
        with self.assertRaises(ValidationError):
            Move.create({"move_type": "topup", "quantity": -1, "company_id": self.company_a.id})
        move = Move.search([("company_id", "=", self.company_a.id)], limit=1)
        move.note = "Bon de commande 2026-114"
        with self.assertRaises(UserError):
            move.quantity = 1000
        with self.assertRaises(UserError):
            move.unlink()
        with self.assertRaises(AccessError):
            self.env["sms.credit.move"].with_user(self.user_a).create(
                {"move_type": "topup", "quantity": 10, "company_id": self.company_a.id}
            )

    def sandbox_outbox(self):
        from ..providers.sandbox import SandboxProvider

        return SandboxProvider.outbox
