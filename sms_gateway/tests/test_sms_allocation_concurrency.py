import threading
import time

from psycopg2.errors import SerializationFailure

from odoo import SUPERUSER_ID, api, sql_db
from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestSmsAllocationConcurrency(TransactionCase):
    """Allocations and sends on independent database cursors at once never take a structure below zero, and
    two allocations between the same companies never deadlock (locks taken in id order)."""

    def cursor(self):
        # real, independent connections (see test_sms_credit_concurrency)
        cr = sql_db.db_connect(self.env.cr.dbname).cursor()
        cr.transaction = api.Transaction(self.registry)
        return cr

    def setUp(self):
        super().setUp()
        with self.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            france = env.ref("base.fr").id
            structure = env["res.company"].create({"name": "Concurrency Syndicat", "country_id": france})
            members = env["res.company"].create(
                [{"name": f"Concurrency school {index}", "parent_id": structure.id} for index in (1, 2)]
            )
            env["sms.gateway.account"].create(
                {"name": "Sandbox", "provider": "sandbox", "company_id": structure.id, "share_mode": "all"}
            )
            env["sms.credit.move"].create({"company_id": structure.id, "move_type": "topup", "quantity": 10})
            self.structure_id, self.member_ids = structure.id, members.ids
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            company_ids = [self.structure_id, *self.member_ids]
            env["sms.sms"].search([("company_id", "in", company_ids)]).unlink()
            env["sms.credit.move"].search([("company_id", "in", company_ids)]).unlink()
            env["sms.gateway.account"].with_context(active_test=False).search(
                [("company_id", "in", company_ids)]
            ).unlink()
            companies = env["res.company"].browse(list(reversed(company_ids)))
            partners = companies.partner_id
            companies.unlink()
            partners.unlink()

    def _allocate(self, cr, member_id, quantity, reverse=False):
        env = api.Environment(cr, SUPERUSER_ID, {})
        Company = env["res.company"]
        return env["sms.credit.move"]._allocate_many(
            Company.browse(self.structure_id), {Company.browse(member_id): quantity}, reverse=reverse
        )

    def _balances(self):
        with self.cursor() as cr:
            cr.execute(
                "SELECT company_id, SUM(quantity) FROM sms_credit_move WHERE company_id = ANY(%s) GROUP BY company_id",
                ([self.structure_id, *self.member_ids],),
            )
            balances = dict(cr.fetchall())
        return [balances.get(company_id, 0) for company_id in (self.structure_id, *self.member_ids)]

    def _in_thread(self, work):
        """Run ``work(cr)`` in a thread on its own cursor, retried on serialization failures as Odoo retries a
        request; the outcome (``done``, or the UserError's message) and when it ended land in the dict."""
        outcome = {}

        def run():
            for _attempt in range(5):
                with self.cursor() as cr:
                    try:
                        work(cr)
                        cr.commit()  # pylint: disable=invalid-commit
                        outcome.update(result="done", at=time.monotonic())
                        return
                    except SerializationFailure:
                        cr.rollback()
                    except UserError as error:
                        cr.rollback()
                        outcome.update(result=str(error), at=time.monotonic())
                        return
            outcome["result"] = "gave up"

        thread = threading.Thread(target=run)
        thread.start()
        return thread, outcome

    def test_two_allocations_cannot_overspend(self):
        with self.cursor() as cr_a:
            self._allocate(cr_a, self.member_ids[0], 8)  # transaction open: the structure is locked
            thread, outcome = self._in_thread(lambda cr: self._allocate(cr, self.member_ids[1], 5))
            thread.join(timeout=1.0)
            self.assertTrue(thread.is_alive(), "the second allocation waits for the first one's lock")
            committed_at = time.monotonic()
            cr_a.commit()  # pylint: disable=invalid-commit
        thread.join(timeout=30)
        self.assertFalse(thread.is_alive())
        self.assertGreater(outcome["at"], committed_at)
        self.assertIn("would take it below zero", outcome["result"])
        self.assertEqual(self._balances(), [2, 8, 0])

    def test_allocation_and_sender_at_once(self):
        def send(cr):
            env = api.Environment(cr, SUPERUSER_ID, {})
            member = env["res.company"].browse(self.member_ids[0])
            member.sms_funding = "pool"  # draws on the structure's credit
            return env["sms.sms"].create(
                [{"number": f"+3361234567{index}", "body": "Rappel", "company_id": member.id} for index in range(6)]
            )

        with self.cursor() as cr_a:
            sms = send(cr_a)
            self.assertEqual(set(sms.mapped("state")), {"outgoing"})
            thread, outcome = self._in_thread(lambda cr: self._allocate(cr, self.member_ids[1], 5))
            thread.join(timeout=1.0)
            self.assertTrue(thread.is_alive())
            cr_a.commit()  # pylint: disable=invalid-commit
        thread.join(timeout=30)
        self.assertIn("has 4 SMS", outcome["result"])
        self.assertEqual(self._balances(), [4, 0, 0])

    def test_allocation_and_take_back_at_once_never_deadlock(self):
        with self.cursor() as cr:
            self._allocate(cr, self.member_ids[0], 4)
            cr.commit()  # pylint: disable=invalid-commit
        with self.cursor() as cr_a:
            # the structure gives to member 2 while another manager takes back from member 1: both lock the
            # structure first (lowest id), so the second waits instead of deadlocking
            self._allocate(cr_a, self.member_ids[1], 3)
            thread, outcome = self._in_thread(lambda cr: self._allocate(cr, self.member_ids[0], 4, reverse=True))
            thread.join(timeout=1.0)
            self.assertTrue(thread.is_alive())
            cr_a.commit()  # pylint: disable=invalid-commit
        thread.join(timeout=30)
        self.assertEqual(outcome["result"], "done")
        self.assertEqual(self._balances(), [7, 0, 3])
