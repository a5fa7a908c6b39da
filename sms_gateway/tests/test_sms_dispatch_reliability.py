from datetime import timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import tagged

from ..providers.base import FAILURE_SERVER, SendResult
from ..providers.sandbox import SandboxProvider
from .common import SmsGatewayCase

SANDBOX_SEND = SandboxProvider.send


def _send_unless_down(connector, messages):
    """Sandbox send, except for accounts whose sender is DOWN: the provider answers 503 to everything."""
    if connector.config.get("sender") == "DOWN":
        return [SendResult(m.ref, failure_type=FAILURE_SERVER, error_message="HTTP 503") for m in messages]
    return SANDBOX_SEND(connector, messages)


@tagged("post_install", "-at_install")
class TestSmsDispatchReliability(SmsGatewayCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.topup(cls.company_a, 100)
        cls.Sms = cls.env["sms.sms"].sudo()

    def set_param(self, key, value):
        self.env["ir.config_parameter"].sudo().set_param(f"sms_gateway.{key}", value)

    def make_interrupted(self, sms, minutes=30):
        """What a dispatch run that died after its claim commit leaves behind."""
        sms.flush_recordset()
        self.env.cr.execute(
            "UPDATE sms_sms SET state = 'process', claimed_at = %s, attempt_count = 1 WHERE id = ANY(%s)",
            (fields.Datetime.now() - timedelta(minutes=minutes), sms.ids),
        )
        sms.invalidate_recordset()

    # -- claim ------------------------------------------------------------------------------------------
    def test_claim_by_query_marks_process_and_counts_attempt(self):
        first = self.queue_sms(self.company_a, "+33612345601")
        waiting = self.queue_sms(self.company_a, "+33612345602")
        waiting.write({"next_try_date": fields.Datetime.now() + timedelta(minutes=5)})
        run = self.dispatch_run()
        claimed = self.Sms._gateway_claim(run, limit=10)
        self.assertIn(first, claimed)
        self.assertNotIn(waiting, claimed, "an SMS waiting for its retry is not claimed")
        self.assertEqual((first.state, first.attempt_count, first.gateway_account_id), ("process", 1, self.account_a))
        self.assertTrue(first.claimed_at)
        self.assertFalse(self.Sms._gateway_claim(run, ids=first.ids), "a claimed SMS is not claimed twice")

    def test_process_queue_sends_and_keeps_history(self):
        sms = self.queue_sms(self.company_a, "+33612345603")
        self.run_queue()
        self.assertEqual(sms.state, "pending")
        self.assertTrue(sms.provider_message_id.startswith("sandbox-"))
        self.assertEqual((sms.attempt_count, sms.credit_move_id.state), (1, "done"))

    # -- crash recovery -----------------------------------------------------------------------------------
    def test_interrupted_flagged_not_resent_and_refunded(self):
        sms = self.queue_sms(self.company_a, "+33612345604")
        self.assertEqual(self.balance(self.company_a), 99)
        self.make_interrupted(sms)
        sent_before = len(SandboxProvider.outbox)
        with self.assertLogs("odoo.addons.sms_gateway.models.sms_sms_dispatch", "WARNING"):
            self.run_queue()
        self.assertEqual(len(SandboxProvider.outbox), sent_before, "never resent blindly")
        self.assertEqual((sms.state, sms.failure_type), ("error", "sms_interrupted"))
        self.assertEqual(sms.error_display, "Sending interrupted — not resent")
        self.assertEqual((sms.credit_charged, self.balance(self.company_a)), (0, 100), "credit follows the state")

    def test_recent_claim_left_alone(self):
        sms = self.queue_sms(self.company_a, "+33612345605")
        self.make_interrupted(sms, minutes=0)
        self.Sms._gateway_recover_interrupted(self.dispatch_run())
        self.assertEqual(sms.state, "process", "inside the grace period a claim belongs to a live run")

    def test_interrupted_reconciled_with_provider(self):
        sent, lost, unknown = (self.queue_sms(self.company_a, f"+3361234561{i}") for i in range(3))
        self.make_interrupted(sent | lost | unknown)

        def lookup(connector, messages):
            return {sent.uuid: "prov-42", lost.uuid: False}

        with (
            patch.object(SandboxProvider, "lookup", lookup, create=True),
            self.assertLogs("odoo.addons.sms_gateway.models.sms_sms_dispatch", "WARNING") as logs,
        ):
            self.Sms._gateway_recover_interrupted(self.dispatch_run())
        self.assertIn("1 SMS of account", logs.output[0])
        self.assertEqual((sent.state, sent.provider_message_id), ("pending", "prov-42"), "sent: kept and charged")
        self.assertEqual(sent.credit_charged, 1)
        self.assertEqual((lost.state, lost.claimed_at), ("outgoing", False), "never received: queued again")
        self.assertEqual(unknown.failure_type, "sms_interrupted")
        self.assertEqual(self.balance(self.company_a), 98, "one charged, one still reserved, one refunded")

    def test_manager_resends_explicitly(self):
        sms = self.queue_sms(self.company_a, "+33612345606")
        self.make_interrupted(sms)
        with self.assertLogs("odoo.addons.sms_gateway.models.sms_sms_dispatch", "WARNING"):
            self.Sms._gateway_recover_interrupted(self.dispatch_run())
        with self.assertRaises(AccessError):
            sms.with_user(self.user_a).action_set_outgoing()
        sms.with_user(self.manager_a).action_set_outgoing()
        self.assertEqual((sms.state, sms.attempt_count, sms.failure_type), ("outgoing", 0, False))
        self.assertEqual((sms.credit_charged, self.balance(self.company_a)), (1, 99), "charged again")
        self.run_queue()
        self.assertEqual((sms.state, sms.attempt_count), ("pending", 1))

    # -- retries ------------------------------------------------------------------------------------------
    def test_backoff_doubles_then_error_with_last_message(self):
        self.set_param("max_attempts", 3)
        self.set_param("retry_delay", 60)
        self.set_param("account_cooldown", 0)  # a single account: no cool-down in the way of the retries
        sms = self.queue_sms(self.company_a, "+33600000003")  # sandbox: provider unreachable
        now = fields.Datetime.now()
        delays = []
        for attempt in range(1, 4):
            with freeze_time(now):
                self.run_queue()
            self.assertEqual(sms.attempt_count, attempt)
            if sms.state == "outgoing":
                delays.append((sms.next_try_date - now).total_seconds())
                now = sms.next_try_date + timedelta(seconds=1)
        self.assertEqual(len(delays), 2)
        self.assertTrue(45 <= delays[0] <= 75 and 90 <= delays[1] <= 150, delays)
        self.assertEqual((sms.state, sms.failure_type), ("error", "sms_server"))
        self.assertEqual(sms.error_message, "Provider unreachable (sandbox test number)")
        self.assertFalse(sms.next_try_date)
        self.assertEqual(self.balance(self.company_a), 100)

    def test_permanent_failure_ends_at_once(self):
        sms = self.queue_sms(self.company_a, "+33600000001")  # sandbox: invalid number
        self.run_queue()
        self.assertEqual((sms.state, sms.failure_type, sms.attempt_count), ("error", "sms_number_format", 1))
        self.assertEqual(self.balance(self.company_a), 100)

    # -- failover -----------------------------------------------------------------------------------------
    def test_failover_to_next_account_with_cooldown(self):
        self.set_param("account_cooldown", 600)
        self.account_a.write({"sender": "DOWN", "sequence": 1})
        backup = self.env["sms.gateway.account"].create(
            {"name": "Backup A", "provider": "sandbox", "company_id": self.company_a.id, "sequence": 5}
        )
        sms = self.queue_sms(self.company_a, "+33612345607")
        with patch.object(SandboxProvider, "send", _send_unless_down):
            self.run_queue()
        self.assertTrue(self.account_a.cooldown_until > fields.Datetime.now(), "the failing account cools down")
        self.assertFalse(backup.cooldown_until)
        self.assertEqual((sms.state, sms.gateway_account_id, sms.attempt_count), ("pending", backup, 2))
        # while it cools down, new SMS go to the backup account directly
        other = self.queue_sms(self.company_a, "+33612345608")
        with patch.object(SandboxProvider, "send", _send_unless_down):
            self.run_queue()
        self.assertEqual((other.state, other.gateway_account_id, other.attempt_count), ("pending", backup, 1))

    def test_single_account_cooling_down_holds_queue_without_spending_attempts(self):
        self.set_param("account_cooldown", 600)
        self.account_a.sender = "DOWN"
        first = self.queue_sms(self.company_a, "+33612345609")
        with patch.object(SandboxProvider, "send", _send_unless_down):
            self.run_queue()
            self.assertEqual((first.state, first.attempt_count), ("outgoing", 1))
            second = self.queue_sms(self.company_a, "+33612345610")
            self.run_queue()
        self.assertEqual((second.state, second.attempt_count), ("outgoing", 0))
        self.assertEqual(second.next_try_date, self.account_a.cooldown_until)

    # -- alerts -------------------------------------------------------------------------------------------
    def alert_mails(self, subject):
        return self.env["mail.mail"].sudo().search([("subject", "like", subject)])

    def test_low_balance_alert_once_per_episode(self):
        self.company_a.sms_low_balance_threshold = 98
        for i in range(4):  # 100 -> 96: crosses the threshold at the 3rd SMS
            self.queue_sms(self.company_a, f"+3361234570{i}")
        mails = self.alert_mails("Low SMS balance")
        self.assertEqual(len(mails), 1, "one alert, not one per SMS")
        self.assertIn(self.manager_a.partner_id, mails.recipient_ids)
        self.assertTrue(self.company_a.sms_low_balance_alerted)
        activities = self.account_a.activity_ids.filtered(lambda a: "Low SMS balance" in a.summary)
        self.assertEqual(activities.user_id, self.manager_a)
        self.topup(self.company_a, 50)
        self.assertFalse(self.company_a.sms_low_balance_alerted, "a top-up above the threshold re-arms it")
        self.queue_sms(self.company_a, "+33612345710")
        self.assertEqual(len(self.alert_mails("Low SMS balance")), 1)
        self.company_a.sms_low_balance_threshold = 200
        self.queue_sms(self.company_a, "+33612345711")
        self.assertEqual(len(self.alert_mails("Low SMS balance")), 2, "next episode, next alert")

    # -- results written per batch ------------------------------------------------------------------------
    def queue_mixed_batch(self, sent_count):
        """One create (one reservation) of ``sent_count`` SMS the sandbox takes, 2 it refuses for good and 2
        it answers with a server error (retried); claimed for one dispatch."""
        numbers = [f"+336123{sent_count:02d}{i:03d}" for i in range(sent_count)]
        numbers += ["+33600000001", "+33600000001", "+33600000003", "+33600000003"]
        sms = self.Sms.with_company(self.company_a).create(
            [{"number": number, "body": "Rappel", "company_id": self.company_a.id} for number in numbers]
        )
        run = self.dispatch_run()
        claimed = self.Sms._gateway_claim(run, ids=sms.ids)
        self.assertEqual(claimed, sms)
        return run, sms

    def dispatch_counting_queries(self, run, sms):
        sms.invalidate_model()
        before = self.env.cr.sql_log_count
        sms._gateway_dispatch(run)
        return self.env.cr.sql_log_count - before

    def test_mixed_batch_settles_each_sms_and_the_ledger_in_bounded_queries(self):
        self.set_param("account_cooldown", 0)
        self.dispatch_counting_queries(*self.queue_mixed_batch(1))  # warm the caches (params, accounts)
        small_run, small = self.queue_mixed_batch(3)
        small_queries = self.dispatch_counting_queries(small_run, small)
        balance = self.balance(self.company_a)
        run, sms = self.queue_mixed_batch(30)
        queries = self.dispatch_counting_queries(run, sms)
        self.assertEqual(queries, small_queries, "the queries of a batch do not grow with its SMS")
        sent = sms.filtered(lambda s: s.number not in ("+33600000001", "+33600000003"))
        refused = sms.filtered(lambda s: s.number == "+33600000001")
        retried = sms.filtered(lambda s: s.number == "+33600000003")
        self.assertEqual(set(sent.mapped("state")), {"pending"})
        self.assertTrue(all(s.provider_message_id.startswith("sandbox-") for s in sent))
        self.assertEqual(set(refused.mapped("state")), {"error"})
        self.assertEqual(set(refused.mapped("failure_type")), {"sms_number_format"})
        self.assertEqual(refused.mapped("credit_charged"), [0, 0], "refunded")
        self.assertEqual(set(retried.mapped("state")), {"outgoing"})
        self.assertTrue(all(retried.mapped("next_try_date")))
        self.assertEqual(retried.mapped("credit_charged"), [1, 1], "still reserved for the retry")
        self.assertEqual(self.balance(self.company_a), balance - 32, "30 sent and 2 retried charged, 2 refunded")
        move = sms.credit_move_id
        self.assertEqual(len(move), 1)
        self.assertEqual(move.state, "reserved", "two SMS of the reservation still wait for the provider")
        retried.write({"next_try_date": False})
        retried_run = self.dispatch_run()
        self.Sms._gateway_claim(retried_run, ids=retried.ids)._gateway_dispatch(retried_run)
        self.assertEqual(set(retried.mapped("state")), {"outgoing"}, "retried again (attempt 2)")
        retried.write({"next_try_date": False})
        self.set_param("max_attempts", 3)
        last_run = self.dispatch_run()
        self.Sms._gateway_claim(last_run, ids=retried.ids)._gateway_dispatch(last_run)
        self.assertEqual(set(retried.mapped("state")), {"error"})
        self.assertEqual(move.state, "done", "settled once none of its SMS waits for the provider")
        self.assertEqual(self.balance(self.company_a), balance - 30, "the retried ones refunded when they ended")
