import threading
import time

from psycopg2.errors import SerializationFailure

from odoo import SUPERUSER_ID, api, sql_db
from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestSmsCreditConcurrency(TransactionCase):
    """Two senders on two database cursors at once can never spend more than the balance."""

    def cursor(self):
        # Real, independent connections: the test registry's cursors all share the test transaction.
        cr = sql_db.db_connect(self.env.cr.dbname).cursor()
        # Bind the registry directly: Registry(dbname) would wait for the loading lock the test runner holds.
        cr.transaction = api.Transaction(self.registry)
        return cr

    def setUp(self):
        super().setUp()
        with self.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            company = env["res.company"].create({"name": "Concurrency SMS Co", "country_id": env.ref("base.fr").id})
            env["sms.gateway.account"].create({"name": "Sandbox", "provider": "sandbox", "company_id": company.id})
            env["sms.credit.move"].create({"company_id": company.id, "move_type": "topup", "quantity": 1})
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

    def _balance(self):
        with self.cursor() as cr:
            cr.execute("SELECT SUM(quantity) FROM sms_credit_move WHERE company_id = %s", (self.company_id,))
            return cr.fetchone()[0]

    def test_two_cursors_cannot_overspend(self):
        outcome = {}

        def second_sender():
            # Odoo retries a request that hit a serialization failure: do the same.
            for attempt in range(1, 6):
                with self.cursor() as cr:
                    try:
                        sms = self._queue(cr)
                        outcome.update(
                            state=sms.state,
                            failure_type=sms.failure_type,
                            error=sms.error_message,
                            attempts=attempt,
                            at=time.monotonic(),
                        )
                        cr.commit()  # pylint: disable=invalid-commit
                        return
                    except SerializationFailure:
                        cr.rollback()
            outcome["state"] = "gave up"

        with self.cursor() as cr_a:
            sms_a = self._queue(cr_a)  # reserves the only credit, transaction still open
            self.assertEqual(sms_a.state, "outgoing")
            thread = threading.Thread(target=second_sender)
            thread.start()
            thread.join(timeout=1.0)
            self.assertTrue(thread.is_alive(), "the second sender must wait for the first one's reservation")
            committed_at = time.monotonic()
            cr_a.commit()  # pylint: disable=invalid-commit
        thread.join(timeout=30)
        self.assertFalse(thread.is_alive())
        self.assertGreater(outcome["at"], committed_at)
        self.assertEqual((outcome["state"], outcome["failure_type"]), ("error", "sms_credit"))
        self.assertEqual(outcome["error"], "Insufficient credit: 1 SMS needed, 0 available")
        self.assertEqual(self._balance(), 0, "balance never goes below zero")
