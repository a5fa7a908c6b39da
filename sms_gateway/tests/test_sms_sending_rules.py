import threading
import time
from datetime import date, datetime, timedelta

from freezegun import freeze_time
from psycopg2.errors import SerializationFailure

from odoo import SUPERUSER_ID, api, fields, sql_db
from odoo.exceptions import AccessError, UserError
from odoo.tests import TransactionCase, tagged

from ..tools.sending_window import (
    day_and_week_start,
    easter_sunday,
    french_public_holidays,
    mask_number,
    window_opening,
)
from .common import SmsGatewayCase

# Friday 4 December 2026, 23:00 in Paris (22:00 UTC); the window opens again on Monday 7, 08:00 (07:00 UTC)
FRIDAY_23H = datetime(2026, 12, 4, 22, 0)
MONDAY_08H = datetime(2026, 12, 7, 7, 0)


@tagged("post_install", "-at_install")
class TestSendingWindowCalendar(TransactionCase):
    """The window itself: Easter and the French public holidays of any year, the next opening."""

    def test_easter_of_several_years(self):
        known = {
            1961: date(1961, 4, 2),
            2000: date(2000, 4, 23),
            2019: date(2019, 4, 21),
            2024: date(2024, 3, 31),
            2025: date(2025, 4, 20),
            2026: date(2026, 4, 5),
            2027: date(2027, 3, 28),
            2038: date(2038, 4, 25),
            2285: date(2285, 3, 22),  # the earliest possible date
        }
        for year, easter in known.items():
            self.assertEqual(easter_sunday(year), easter, year)

    def test_french_public_holidays(self):
        holidays_2025 = french_public_holidays(2025)
        self.assertEqual(len(holidays_2025), 11)
        for day in (date(2025, 4, 21), date(2025, 5, 29), date(2025, 6, 9)):  # Easter Mon., Ascension, Whit Mon.
            self.assertIn(day, holidays_2025)
        for day in (date(2024, 4, 1), date(2024, 5, 9), date(2024, 5, 20), date(2026, 4, 6), date(2026, 5, 14)):
            self.assertIn(day, french_public_holidays(day.year))
        self.assertIn(date(2030, 7, 14), french_public_holidays(2030))
        self.assertNotIn(date(2025, 4, 20), holidays_2025, "Easter Sunday is a Sunday, not a listed holiday")

    def test_next_opening(self):
        self.assertIsNone(window_opening(datetime(2026, 12, 4, 9, 0)), "Friday 10:00 in Paris: inside")
        self.assertEqual(window_opening(FRIDAY_23H), MONDAY_08H)
        self.assertEqual(window_opening(datetime(2026, 12, 7, 5, 0)), MONDAY_08H, "Monday 06:00: same morning")
        self.assertEqual(window_opening(datetime(2026, 12, 7, 21, 0)), datetime(2026, 12, 8, 7, 0), "22:00 closed")
        # Ascension 2026 is Thursday 14 May: Wednesday 23:00 waits for Friday 08:00 (summer time: UTC+2)
        self.assertEqual(window_opening(datetime(2026, 5, 13, 21, 0)), datetime(2026, 5, 15, 6, 0))
        # Christmas Eve 2026 (Thursday) late: Friday is Christmas, then the weekend
        self.assertEqual(window_opening(datetime(2026, 12, 24, 22, 0)), datetime(2026, 12, 28, 7, 0))
        # without holidays, Christmas is a working day; Monday to Saturday opens Saturday
        self.assertEqual(window_opening(datetime(2026, 12, 24, 22, 0), holidays=False), datetime(2026, 12, 25, 7, 0))
        self.assertEqual(window_opening(FRIDAY_23H, days="mon_sat"), datetime(2026, 12, 5, 7, 0))
        # another time zone and hours
        self.assertEqual(
            window_opening(datetime(2026, 12, 4, 22, 0), "America/Montreal", 9.5, 18.0), None, "17:00 in Montreal"
        )

    def test_day_and_week_start_and_mask(self):
        day, week = day_and_week_start(datetime(2026, 12, 3, 23, 30))  # Friday 00:30 in Paris
        self.assertEqual(day, datetime(2026, 12, 3, 23, 0))
        self.assertEqual(week, datetime(2026, 11, 29, 23, 0), "Monday 30 November, 00:00 in Paris")
        self.assertEqual(mask_number("+33612345678"), "+336******78")
        self.assertEqual(mask_number("12"), "**")


@tagged("post_install", "-at_install")
class TestSendingRules(SmsGatewayCase):
    """Quiet hours, scheduled sends and the cap per recipient, as the composer and the queue apply them."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        france = cls.env.ref("base.fr")
        cls.partner_c = cls.env["res.partner"].create(
            {"name": "Chloé Durand", "mobile": "06 98 76 54 32", "country_id": france.id}
        )
        cls.topup(cls.company_a, 100)
        cls.topup(cls.company_b, 100)
        cls.user_a.tz = "Europe/Paris"

    def composer(self, partners, user=None, body="Fête du quartier samedi !", **values):
        env = self.env(user=user or self.user_a)
        context = {
            "active_model": "res.partner",
            "active_ids": partners.ids,
            "default_composition_mode": "mass",
            "default_res_ids": partners.ids,
            "default_mass_keep_log": True,
        }
        return env["sms.composer"].with_context(**context).create({"body": body, **values})

    def sms_of(self, partners):
        return self.env["sms.sms"].sudo().search([("partner_id", "in", partners.ids)])

    # ------------------------------------------------------------
    # Quiet hours
    # ------------------------------------------------------------
    def test_marketing_send_at_23_waits_until_08(self):
        self.company_a.sms_window_enabled = True
        with freeze_time(FRIDAY_23H):
            composer = self.composer(self.partner_a | self.partner_c)
            self.assertEqual(composer.sms_kind, "marketing")
            self.assertIn("Outside the sending window", composer.sms_rules_recap)
            self.assertIn("Monday 7 December 2026, 08:00", composer.sms_rules_recap, "in the user's time zone")
            composer.action_send_sms()
            sms = self.sms_of(self.partner_a | self.partner_c)
            self.assertEqual(set(sms.mapped("state")), {"outgoing"})
            self.assertEqual(set(sms.mapped("next_try_date")), {MONDAY_08H})
            self.assertEqual(set(sms.mapped("sms_kind")), {"marketing"})
            self.assertEqual(sum(sms.mapped("credit_charged")), 2, "charged when queued")
            self.assertEqual(
                sms.with_context(lang="en_US", tz="Europe/Paris")[0].error_display,
                "Waiting for the sending window (Mon 08:00)",
            )
            cron = self.env.ref("sms.ir_cron_sms_scheduler_action")
            triggers = (
                self.env["ir.cron.trigger"].sudo().search([("cron_id", "=", cron.id), ("call_at", "=", MONDAY_08H)])
            )
            self.assertTrue(triggers, "the queue wakes at the opening")
            self.run_queue()
            self.assertEqual(set(sms.mapped("state")), {"outgoing"}, "not claimed at night")
        with freeze_time(MONDAY_08H + timedelta(seconds=1)):
            self.run_queue()
            sms.invalidate_recordset()
            self.assertTrue(all(s.state in ("pending", "sent") for s in sms), sms.mapped("state"))
            self.assertNotIn("Waiting", sms[0].error_display or "")

    def test_queued_in_the_window_dispatched_after_it_closed_waits(self):
        """A send queued at 21:59 whose SMS are still in the queue at 22:00 (a long send, a backlog): the
        rest wait for the opening; functional SMS still leave."""
        self.company_a.sms_window_enabled = True
        with freeze_time(FRIDAY_23H - timedelta(hours=1, minutes=1)):
            self.composer(self.partner_a | self.partner_c).action_send_sms()
            marketing = self.sms_of(self.partner_a | self.partner_c)
            reminder = self.queue_sms(self.company_a, "+33612345678")
            self.assertEqual(set(marketing.mapped("next_try_date")), {False}, "queued inside the window")
        with freeze_time(FRIDAY_23H):
            self.run_queue()
            (marketing | reminder).invalidate_recordset()
            self.assertEqual(set(marketing.mapped("state")), {"outgoing"}, "not handed to the provider at 23:00")
            self.assertEqual(set(marketing.mapped("next_try_date")), {MONDAY_08H})
            self.assertEqual(set(marketing.mapped("attempt_count")), {0}, "no attempt spent")
            self.assertEqual(
                marketing.with_context(lang="en_US", tz="Europe/Paris")[0].error_display,
                "Waiting for the sending window (Mon 08:00)",
            )
            self.assertIn(reminder.state, ("pending", "sent"), "functional SMS are exempt")
            cron = self.env.ref("sms.ir_cron_sms_scheduler_action")
            self.assertTrue(
                self.env["ir.cron.trigger"].sudo().search([("cron_id", "=", cron.id), ("call_at", "=", MONDAY_08H)])
            )
        with freeze_time(MONDAY_08H):
            self.run_queue()
            marketing.invalidate_recordset()
            self.assertTrue(all(s.state in ("pending", "sent") for s in marketing), marketing.mapped("state"))
            self.assertEqual(sum(marketing.mapped("credit_charged")), 2, "charged once")

    def test_functional_sms_exempt_unless_every_sms_waits(self):
        self.company_a.sms_window_enabled = True
        with freeze_time(FRIDAY_23H):
            reminder = self.queue_sms(self.company_a, "+33612345678")
            self.assertEqual(reminder.sms_kind, "functional")
            self.assertFalse(reminder.next_try_date)
            # an automated action sends functional SMS to a list
            composer = (
                self.env["sms.composer"]
                .with_user(self.user_a)
                .with_context(
                    active_model="res.partner",
                    active_ids=self.partner_c.ids,
                    default_composition_mode="mass",
                    default_res_ids=self.partner_c.ids,
                    sms_gateway_automated=True,
                )
                .create({"body": "Rappel : votre rendez-vous demain"})
            )
            self.assertEqual(composer.sms_kind, "functional")
            composer._action_send_sms()
            self.assertFalse(self.sms_of(self.partner_c).next_try_date)
            self.run_queue()
            self.assertIn(reminder.state, ("pending", "sent"))
            self.company_a.sms_window_scope = "all"
            waiting = self.queue_sms(self.company_a, "+33612345678")
            self.assertEqual(waiting.next_try_date, MONDAY_08H)

    def test_window_of_company_a_does_not_hold_company_b(self):
        self.company_a.sms_window_enabled = True
        self.topup(self.company_b, 10)
        with freeze_time(FRIDAY_23H):
            composer = self.composer(self.partner_a, user=self.user_b)
            self.assertEqual(composer.sms_company_id, self.company_b)
            self.assertFalse(composer.sms_rules_recap)
            composer.action_send_sms()
            sms = self.sms_of(self.partner_a)
            self.assertEqual(sms.company_id, self.company_b)
            self.assertFalse(sms.next_try_date)

    def test_only_managers_change_the_rules(self):
        with self.assertRaises(AccessError):
            self.company_a.with_user(self.user_a).write({"sms_cap_per_day": 1})
        with self.assertRaises(AccessError):
            self.env["res.config.settings"].with_user(self.user_a).create({"sms_window_enabled": True})
        with self.assertRaises(UserError):  # ValidationError is a UserError
            self.company_a.sms_window_start = 23.0

    # ------------------------------------------------------------
    # Cap per recipient
    # ------------------------------------------------------------
    def test_cap_per_day(self):
        self.company_a.sms_cap_per_day = 2
        balance = self.balance(self.company_a)
        first = self.queue_sms(self.company_a, "+33612345678")
        second = (
            self.env["sms.sms"]
            .sudo()
            .create(
                [
                    {"number": "+33612345678", "body": "Deux", "company_id": self.company_a.id},
                    {"number": "+33612345678", "body": "Trois", "company_id": self.company_a.id},
                    {"number": "+33698765432", "body": "Autre", "company_id": self.company_a.id},
                ]
            )
        )
        self.assertEqual(first.state, "outgoing")
        self.assertEqual(second.mapped("state"), ["outgoing", "canceled", "outgoing"])
        over = second[1]
        self.assertEqual(over.failure_type, "sms_recipient_cap")
        self.assertEqual(over.error_display, "Not sent: this number already received 2 SMS today, the limit is 2")
        self.assertEqual(over.credit_charged, 0)
        self.assertEqual(self.balance(self.company_a), balance - 3, "the over-cap SMS is not charged")
        # every origin counts, even once sent; another company's SMS do not
        self.run_queue()
        self.assertEqual(self.queue_sms(self.company_a, "+33612345678").state, "canceled")
        self.assertEqual(self.queue_sms(self.company_b, "+33612345678").state, "outgoing")

    def test_cap_per_week(self):
        self.company_a.sms_cap_per_week = 2
        old = self.queue_sms(self.company_a, "+33612345678") | self.queue_sms(self.company_a, "+33612345678")
        _day_start, week_start = day_and_week_start(fields.Datetime.now(), "Europe/Paris")
        # one in this week (its first minute), one the week before
        self.env.cr.execute(
            "UPDATE sms_sms SET create_date = %s WHERE id = %s", (week_start + timedelta(minutes=1), old[0].id)
        )
        self.env.cr.execute(
            "UPDATE sms_sms SET create_date = %s WHERE id = %s", (week_start - timedelta(minutes=1), old[1].id)
        )
        self.env["sms.sms"].invalidate_model(["create_date"])
        self.assertEqual(self.queue_sms(self.company_a, "+33612345678").state, "outgoing")
        over = self.queue_sms(self.company_a, "+33612345678")
        self.assertEqual(over.state, "canceled")
        self.assertEqual(over.error_message, "Not sent: this number already received 2 SMS this week, the limit is 2")

    def test_cap_counted_in_recap_then_applied(self):
        self.company_a.sms_cap_per_day = 1
        self.queue_sms(self.company_a, self.partner_a.phone_sanitized)
        composer = self.composer(self.partner_a | self.partner_c)
        self.assertEqual(composer.sms_cap_count, 1)
        self.assertIn("1 recipient(s) already reached the cap", composer.sms_rules_recap)
        balance = self.balance(self.company_a)
        composer.action_send_sms()
        sms = self.sms_of(self.partner_a | self.partner_c).filtered(lambda s: s.send_batch_id)
        by_partner = {s.partner_id: s for s in sms}
        self.assertEqual(by_partner[self.partner_a].failure_type, "sms_recipient_cap")
        self.assertEqual(by_partner[self.partner_c].state, "outgoing")
        self.assertEqual(self.balance(self.company_a), balance - 1)

    def test_cap_in_background_send(self):
        """A big send prepared chunk by chunk: each chunk counts what the earlier ones queued."""
        self.env["ir.config_parameter"].sudo().set_param("sms_gateway.background_send_threshold", 1)
        self.env["ir.config_parameter"].sudo().set_param("sms_gateway.prepare_chunk_size", 1)
        self.company_a.sms_cap_per_day = 1
        self.queue_sms(self.company_a, self.partner_c.phone_sanitized)
        composer = self.composer(self.partner_a | self.partner_c)
        composer.action_send_sms()
        batch = composer.sms_send_batch_id
        self.assertEqual(batch.preparation, "preparing")
        self.env["sms.send.batch"]._cron_prepare()
        self.assertEqual(batch.preparation, "prepared")
        by_partner = {s.partner_id: s for s in batch.sms_ids}
        self.assertEqual(by_partner[self.partner_a].state, "outgoing")
        self.assertEqual(by_partner[self.partner_c].failure_type, "sms_recipient_cap")
        self.assertEqual(by_partner[self.partner_c].credit_charged, 0)
        self.assertEqual(batch.credit_total, 1, "the unused reservation was given back")

    def set_balance(self, company, balance):
        self.env["sms.credit.move"].create(
            {"company_id": company.id, "move_type": "adjustment", "quantity": balance - self.balance(company)}
        )
        self.assertEqual(self.balance(company), balance)

    def test_cap_left_out_of_cost_and_credit_check(self):
        """Credit 2, three recipients of which one over the cap: the send costs 2 and goes."""
        self.company_a.sms_cap_per_day = 1
        self.queue_sms(self.company_a, self.partner_a.phone_sanitized)
        self.set_balance(self.company_a, 2)
        partners = self.partner_a | self.partner_b | self.partner_c
        composer = self.composer(partners)
        self.assertEqual((composer.sms_valid_count, composer.sms_cap_count), (3, 1))
        self.assertEqual((composer.sms_credit_needed, composer.sms_credit_after), (2, 0))
        self.assertFalse(composer.sms_send_problem)
        # a message written per recipient is counted the same way
        self.assertEqual(self.composer(partners, body="Bonjour {{ object.name }}").sms_credit_needed, 2)
        composer.action_send_sms()
        by_partner = {s.partner_id: s for s in composer.sms_send_batch_id.sms_ids}
        self.assertEqual([by_partner[p].state for p in partners], ["canceled", "outgoing", "outgoing"])
        self.assertEqual(
            by_partner[self.partner_a].error_message,
            "Not sent: this number already received 1 SMS today, the limit is 1",
        )
        self.assertEqual(composer.sms_send_batch_id.credit_total, 2)
        self.assertEqual(self.balance(self.company_a), 0)

    def test_cap_left_out_of_background_reservation(self):
        self.env["ir.config_parameter"].sudo().set_param("sms_gateway.background_send_threshold", 1)
        self.company_a.sms_cap_per_day = 1
        self.queue_sms(self.company_a, self.partner_a.phone_sanitized)
        self.set_balance(self.company_a, 2)
        partners = self.partner_a | self.partner_b | self.partner_c
        composer = self.composer(partners)
        composer.action_send_sms()
        batch = composer.sms_send_batch_id
        self.assertEqual((batch.preparation, batch.credit_reserved), ("preparing", 2))
        self.env["sms.send.batch"]._cron_prepare()
        by_partner = {s.partner_id: s for s in batch.sms_ids}
        self.assertEqual([by_partner[p].state for p in partners], ["canceled", "outgoing", "outgoing"])
        self.assertIn("Not sent: this number already received 1 SMS today", by_partner[self.partner_a].error_message)
        self.assertEqual((batch.credit_total, self.balance(self.company_a)), (2, 0))

    def test_over_the_cap_after_the_send_refunded(self):
        """A recipient who reaches the cap between the send and its preparation: its reserved credit is given
        back at the end of the preparation."""
        self.env["ir.config_parameter"].sudo().set_param("sms_gateway.background_send_threshold", 1)
        self.company_a.sms_cap_per_day = 1
        composer = self.composer(self.partner_a | self.partner_c)
        balance = self.balance(self.company_a)
        composer.action_send_sms()
        batch = composer.sms_send_batch_id
        self.assertEqual(batch.credit_reserved, 2)
        self.queue_sms(self.company_a, self.partner_c.phone_sanitized)
        self.env["sms.send.batch"]._cron_prepare()
        by_partner = {s.partner_id: s for s in batch.sms_ids}
        self.assertEqual(by_partner[self.partner_c].failure_type, "sms_recipient_cap")
        self.assertEqual((batch.credit_total, self.balance(self.company_a)), (1, balance - 2))

    def test_concurrent_send_is_not_a_preparation_failure(self):
        self.env["ir.config_parameter"].sudo().set_param("sms_gateway.background_send_threshold", 1)
        composer = self.composer(self.partner_a | self.partner_c)
        composer.action_send_sms()
        batch = composer.sms_send_batch_id.sudo()
        batch._preparation_failed(SerializationFailure("could not serialize access due to concurrent update"))
        self.assertEqual((batch.preparation_failures, batch.preparation), (0, "preparing"), "tried again")
        with self.assertLogs("odoo.addons.sms_gateway.models.sms_send_batch", "WARNING") as logs:
            batch._preparation_failed(ValueError("broken template"))
        self.assertIn("broken template", logs.output[0])
        self.assertEqual(batch.preparation_failures, 1)

    def test_sender_may_send_functional_at_night(self):
        self.company_a.sms_window_enabled = True
        with freeze_time(FRIDAY_23H):
            composer = self.composer(self.partner_c, sms_kind="functional")
            self.assertFalse(composer.sms_rules_recap)
            composer.action_send_sms()
            sms = self.sms_of(self.partner_c)
            self.assertEqual((sms.sms_kind, sms.next_try_date), ("functional", False))

    # ------------------------------------------------------------
    # Scheduled sends
    # ------------------------------------------------------------
    def test_scheduled_send_reserved_then_sent_at_its_time(self):
        send_at = datetime(2026, 12, 4, 9, 0)  # 10:00 in Paris
        with freeze_time(datetime(2026, 12, 4, 7, 0)):
            balance = self.balance(self.company_a)
            composer = self.composer(self.partner_a | self.partner_c, sms_send_at=send_at)
            self.assertIn("Scheduled: it will be sent on Friday 4 December 2026, 10:00", composer.sms_rules_recap)
            result = composer.action_send_sms()
            self.assertIn("scheduled for Friday 4 December 2026, 10:00", result["params"]["message"])
            batch = composer.sms_send_batch_id
            self.assertEqual(batch.scheduled_at, send_at)
            self.assertEqual(batch.state, "scheduled")
            self.assertIn(batch, self.env["sms.send.batch"].search([("state", "=", "scheduled")]))
            self.assertEqual(self.balance(self.company_a), balance - 2, "reserved when scheduled")
            self.env["sms.send.batch"]._cron_prepare()
            self.assertFalse(batch.sms_ids, "nothing prepared before its time")
            cron = self.env.ref("sms_gateway.ir_cron_sms_gateway_prepare_sends")
            self.assertTrue(
                self.env["ir.cron.trigger"].sudo().search([("cron_id", "=", cron.id), ("call_at", "=", send_at)])
            )
        with freeze_time(send_at + timedelta(seconds=1)):
            batch.invalidate_recordset()
            self.assertEqual(batch.state, "preparing")
            self.env["sms.send.batch"]._cron_prepare()
            self.assertEqual(len(batch.sms_ids), 2)
            self.run_queue()
            self.assertTrue(all(s.state in ("pending", "sent") for s in batch.sms_ids))
            self.assertEqual(self.balance(self.company_a), balance - 2)

    def test_scheduled_send_cancelled_refunded(self):
        balance = self.balance(self.company_a)
        composer = self.composer(
            self.partner_a | self.partner_c, sms_send_at=fields.Datetime.now() + timedelta(hours=3)
        )
        composer.action_send_sms()
        batch = composer.sms_send_batch_id.with_user(self.user_a)
        self.assertEqual(self.balance(self.company_a), balance - 2)
        with self.assertRaises(AccessError):
            batch.with_user(self.user_b).action_cancel()  # another company's user does not even see it
        batch.action_cancel()
        batch.invalidate_recordset()
        self.assertEqual(batch.state, "canceled")
        self.assertEqual(self.balance(self.company_a), balance, "credit given back")
        self.env["sms.send.batch"]._cron_prepare()
        self.assertFalse(batch.sms_ids)

    def test_only_lists_can_be_scheduled(self):
        composer = (
            self.env["sms.composer"]
            .with_user(self.user_a)
            .with_context(default_res_model="res.partner", default_res_id=self.partner_a.id)
            .create(
                {
                    "composition_mode": "comment",
                    "body": "Bonjour",
                    "sms_send_at": fields.Datetime.now() + timedelta(hours=1),
                }
            )
        )
        self.assertEqual(composer.sms_kind, "functional")
        with self.assertRaises(UserError):
            composer.action_send_sms()

    # ------------------------------------------------------------
    # Pseudonymised history
    # ------------------------------------------------------------
    def age(self, sms, days):
        self.env.cr.execute(
            "UPDATE sms_sms SET create_date = now() at time zone 'UTC' - %s * interval '1 day' WHERE id IN %s",
            (days, tuple(sms.ids)),
        )
        sms.invalidate_recordset()

    def test_pseudonymized_then_deleted_ledger_intact(self):
        self.partner_a.with_user(self.user_a)._message_sms("Votre dossier est prêt", sms_numbers=["+33612345678"])
        self.env.flush_all()
        notification = (
            self.env["mail.notification"]
            .sudo()
            .search([("notification_type", "=", "sms"), ("sms_number", "=", "+33612345678")])
        )
        sms = self.env["sms.sms"].sudo().browse(notification.sms_id_int)
        self.assertTrue(sms.mail_message_id)
        recent = self.queue_sms(self.company_a, "+33698765432", partner_id=self.partner_c.id)
        pending = self.queue_sms(self.company_a, "+33698765432")
        other = self.queue_sms(self.company_b, "+33612345678")
        self.run_queue()
        pending.write({"state": "outgoing"})  # as if the provider had not answered yet
        self.company_b.sms_pseudonymize_days = 0
        self.age(sms | pending | other, 200)
        kept = ["company_id", "gateway_account_id", "origin_label", "sms_segment_count", "credit_charged", "state"]
        figures = sms.read([*kept, "credit_move_id"])[0]
        balance = self.balance(self.company_a)
        moves = self.env["sms.credit.move"].sudo().search([("company_id", "=", self.company_a.id)])

        self.env["sms.sms"]._gc_gateway_pseudonymize()
        self.assertTrue(sms.pseudonymized)
        self.assertEqual(sms.number, "+336******78")
        self.assertFalse(sms.body)
        self.assertFalse(sms.partner_id)
        self.assertFalse(sms.mail_message_id)
        notification.invalidate_recordset()
        self.assertEqual(notification.sms_number, "+336******78")
        self.assertEqual(sms.read([*kept, "credit_move_id"])[0], figures, "figures kept")
        self.assertFalse(recent.pseudonymized)
        self.assertEqual(recent.partner_id, self.partner_c)
        self.assertFalse(pending.pseudonymized, "an SMS still waiting for the provider is left alone")
        self.assertFalse(other.pseudonymized, "company B never pseudonymises")
        self.assertEqual(self.balance(self.company_a), balance)

        self.age(sms, 800)
        self.env["sms.sms"]._gc_gateway_history()
        self.assertFalse(sms.exists(), "deleted after the retention (2 years by default)")
        self.assertTrue(recent.exists())
        self.assertEqual(self.env["sms.credit.move"].sudo().search([("company_id", "=", self.company_a.id)]), moves)
        self.assertEqual(self.balance(self.company_a), balance, "the ledger does not move")


@tagged("post_install", "-at_install")
class TestCapConcurrency(TransactionCase):
    """Two senders queueing to the same number at once cannot both pass the cap."""

    def cursor(self):
        cr = sql_db.db_connect(self.env.cr.dbname).cursor()
        cr.transaction = api.Transaction(self.registry)
        return cr

    def setUp(self):
        super().setUp()
        with self.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            company = env["res.company"].create(
                {"name": "Cap SMS Co", "country_id": env.ref("base.fr").id, "sms_cap_per_day": 1}
            )
            env["sms.gateway.account"].create({"name": "Sandbox", "provider": "sandbox", "company_id": company.id})
            env["sms.credit.move"].create({"company_id": company.id, "move_type": "topup", "quantity": 10})
            self.company_id = company.id
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["sms.sms"].search([("company_id", "=", self.company_id)]).unlink()
            env["sms.credit.move"].search([("company_id", "=", self.company_id)]).unlink()
            env["sms.gateway.account"].with_context(active_test=False).search(
                [("company_id", "=", self.company_id)]
            ).unlink()
            company = env["res.company"].browse(self.company_id)
            partner = company.partner_id
            company.unlink()
            partner.unlink()

    def _queue(self, cr):
        env = api.Environment(cr, SUPERUSER_ID, {})
        return env["sms.sms"].create({"number": "+33612345678", "body": "Rappel", "company_id": self.company_id})

    def test_two_cursors_cannot_exceed_the_cap(self):
        outcome = {}

        def second_sender():
            for attempt in range(1, 6):  # as Odoo retries a request after a serialization failure
                with self.cursor() as cr:
                    try:
                        sms = self._queue(cr)
                        outcome.update(state=sms.state, failure_type=sms.failure_type, attempts=attempt)
                        cr.commit()  # pylint: disable=invalid-commit
                        return
                    except SerializationFailure:
                        cr.rollback()
            outcome["state"] = "gave up"

        with self.cursor() as cr_a:
            self.assertEqual(self._queue(cr_a).state, "outgoing")
            thread = threading.Thread(target=second_sender)
            thread.start()
            thread.join(timeout=1.0)
            self.assertTrue(thread.is_alive(), "the second sender waits for the first one")
            time.sleep(0.1)
            cr_a.commit()  # pylint: disable=invalid-commit
        thread.join(timeout=30)
        self.assertFalse(thread.is_alive())
        self.assertEqual((outcome["state"], outcome["failure_type"]), ("canceled", "sms_recipient_cap"))
        self.assertGreater(outcome["attempts"], 1, "retried on a fresh snapshot")
        with self.cursor() as cr:
            cr.execute("SELECT COUNT(*) FROM sms_sms WHERE company_id = %s AND state = 'outgoing'", (self.company_id,))
            self.assertEqual(cr.fetchone()[0], 1)
