# A dispatch run claims a batch (SELECT ... FOR UPDATE SKIP LOCKED), marks it "process" and commits before
# calling the provider, then locks the rows again until their results are committed: a row in "process"
# that nobody locks belongs to a run that died (its connection closed and PostgreSQL released the lock).

import logging
import random
import threading
import time
from datetime import timedelta

import psycopg2
from psycopg2.extras import execute_values

from odoo import _, api, fields, models, tools
from odoo.exceptions import AccessError

from ..providers.base import FAILURE_ACCOUNT, FAILURE_CREDIT, TRANSIENT_FAILURES, OutgoingSms, SendResult
from ..providers.dispatch import send_all
from .sms_sms import PENDING_STATES

_logger = logging.getLogger(__name__)

# Failures that tell about the account rather than the SMS: the account cools down, the next one takes over.
ACCOUNT_FAILURES = {FAILURE_ACCOUNT, FAILURE_CREDIT}
FAILOVER_FAILURES = TRANSIENT_FAILURES | ACCOUNT_FAILURES


class SmsSms(models.Model):
    _inherit = "sms.sms"

    def init(self):
        super().init()
        # the queue the dispatch runs claim from, in id order; small whatever the size of the history
        self.env.cr.execute(
            """CREATE INDEX IF NOT EXISTS sms_sms_gateway_queue_index ON sms_sms (id)
                WHERE state = 'outgoing' AND gateway_account_id IS NOT NULL"""
        )
        self.env.cr.execute(
            """CREATE INDEX IF NOT EXISTS sms_sms_gateway_process_index ON sms_sms (claimed_at)
                WHERE state = 'process' AND gateway_account_id IS NOT NULL"""
        )

    @api.model
    def _gateway_params(self):
        """Dispatch settings (system parameters ``sms_gateway.*``)."""
        get = self.env["ir.config_parameter"].sudo().get_param

        def number(key, default, cast=int):
            try:
                return max(cast(get(f"sms_gateway.{key}", default)), 0)
            except (TypeError, ValueError):
                return default

        return {
            "batch_size": number("batch_size", 200) or 200,
            "max_per_run": number("max_per_run", 10000) or 10000,
            "max_attempts": number("max_attempts", 4) or 1,
            "retry_delay": number("retry_delay", 60.0, float),  # seconds before the 2nd attempt, then doubled
            "cooldown": number("account_cooldown", 300.0, float),  # seconds an account is skipped after a failure
            "interrupted_after": number("interrupted_after", 60.0, float),  # grace before "process" is examined
        }

    def send(self, unlink_failed=False, unlink_sent=True, auto_commit=False, raise_exception=False):
        """Gateway SMS are sent by claim: at once in a committing run (cron, ``auto_commit``) and in tests;
        inside a user transaction they stay queued and the queue cron is woken: a provider must never be
        called for a row whose claim could still be rolled back (that is how stock Odoo sends duplicates)."""
        # History readers may read SMS, not push them to a provider (stock Odoo: system only).
        self.check_access("write")
        gateway_sms = self.filtered("gateway_account_id")
        others = self - gateway_sms
        if others:
            super(SmsSms, others).send(
                unlink_failed=unlink_failed,
                unlink_sent=unlink_sent,
                auto_commit=auto_commit,
                raise_exception=raise_exception,
            )
        gateway_sms = gateway_sms.filtered(lambda s: s.state == "outgoing" and not s.to_delete)
        if not gateway_sms:
            return
        testing = getattr(threading.current_thread(), "testing", False)
        if not auto_commit and not testing:
            self._gateway_trigger_cron()
            return
        batch_size = self._gateway_params()["batch_size"]
        ids = gateway_sms.ids
        run = self.env["sms.gateway.account"]._gateway_start_run()
        sms = self.with_context(sms_gateway_run=run, sms_gateway_auto_commit=auto_commit)
        try:
            for start in range(0, len(ids), batch_size):
                claimed = sms.browse(ids[start : start + batch_size])._gateway_claim(auto_commit=auto_commit)
                claimed._gateway_dispatch(auto_commit=auto_commit)
        finally:
            sms.env["sms.gateway.account"]._gateway_end_run(run)

    @api.model
    def _process_queue(self, ids=None):
        """Recover interrupted sends, then claim and send queued gateway SMS batch after batch (by query: a
        second worker takes the next free rows, it never waits for the first), then the IAP ones as stock."""
        auto_commit = not getattr(threading.current_thread(), "testing", False)
        run = self.env["sms.gateway.account"]._gateway_start_run()
        self = self.with_context(sms_gateway_run=run, sms_gateway_auto_commit=auto_commit)
        try:
            self._gateway_recover_interrupted(auto_commit=auto_commit)
            params = self._gateway_params()
            done = 0
            while done < params["max_per_run"]:
                claimed = self._gateway_claim(
                    ids=ids, limit=min(params["batch_size"], params["max_per_run"] - done), auto_commit=auto_commit
                )
                if not claimed:
                    break
                claimed._gateway_dispatch(auto_commit=auto_commit)
                done += len(claimed)
                if self.env.context.get("ir_cron_progress_id"):
                    self.env["ir.cron"]._notify_progress(done=done, remaining=self._gateway_queued_count())
            else:
                self._gateway_trigger_cron()  # more than one run's worth: go on in the next run
            self._gateway_settle_reserved(auto_commit=auto_commit)
        except Exception:
            _logger.exception("Failed processing the SMS gateway queue")
            if auto_commit:
                self.env.cr.rollback()
        finally:
            self.env["sms.gateway.account"]._gateway_end_run(run)
        domain = [("state", "=", "outgoing"), ("to_delete", "!=", True), ("gateway_account_id", "=", False)]
        iap_ids = self.search(domain, limit=10000).ids
        iap_ids = sorted(set(iap_ids) & set(ids)) if ids else sorted(iap_ids)
        if not iap_ids:
            return None
        try:
            return self.browse(iap_ids).send(unlink_failed=False, unlink_sent=True, auto_commit=auto_commit)
        except Exception:
            _logger.exception("Failed processing SMS queue")
        return None

    def _send(self, unlink_failed=False, unlink_sent=True, raise_exception=False):
        gateway_sms = self.filtered("gateway_account_id")
        iap_sms = self - gateway_sms
        if iap_sms:
            super(SmsSms, iap_sms)._send(
                unlink_failed=unlink_failed, unlink_sent=unlink_sent, raise_exception=raise_exception
            )
        if gateway_sms:
            gateway_sms._gateway_claim()._gateway_dispatch()

    def action_set_outgoing(self):
        """Explicit resend (managers, History "Resend"): the SMS is queued again as a new send, with fresh
        attempts, and its credit is reserved again (it was refunded when it failed)."""
        gateway_sms = self.filtered("gateway_account_id")
        if gateway_sms and not self.env.su and not self.env.user.has_group("sms_gateway.group_sms_manager"):
            raise AccessError(_("Only SMS managers can resend SMS."))
        res = super(SmsSms, self.sudo() if gateway_sms else self).action_set_outgoing()
        if gateway_sms:
            gateway_sms.sudo().write(
                {"attempt_count": 0, "next_try_date": False, "error_message": False, "claimed_at": False}
            )
            to_reserve = gateway_sms.sudo().filtered(lambda s: s.state == "outgoing" and not s.credit_charged)
            to_reserve._gateway_reserve_credit()
            to_reserve.company_id._sms_check_low_balance()
            self._gateway_trigger_cron()
        return res

    @api.model
    def _gateway_trigger_cron(self, at=None):
        cron = self.env.ref("sms.ir_cron_sms_scheduler_action", raise_if_not_found=False)
        if cron:
            cron.sudo()._trigger(at=at)

    @api.model
    def _gateway_queued_count(self):
        self.env.cr.execute(
            """SELECT COUNT(*) FROM sms_sms WHERE state = 'outgoing' AND gateway_account_id IS NOT NULL
                  AND (next_try_date IS NULL OR next_try_date <= %s)""",
            (fields.Datetime.now(),),
        )
        return self.env.cr.fetchone()[0]

    def _gateway_auto_commit(self, auto_commit=None):
        if auto_commit is None:
            auto_commit = self.env.context.get("sms_gateway_auto_commit")
        return bool(auto_commit) and not getattr(threading.current_thread(), "testing", False)

    def _gateway_claim(self, ids=None, limit=None, auto_commit=None):
        """Claim queued gateway SMS that no other run holds: those of ``self`` when not empty, else the next
        ``limit`` ones of the queue (restricted to ``ids`` when given). Each company's SMS get the account
        that sends them now (first active account, by sequence, not cooling down); claimed SMS are marked
        "process" with one more attempt and the claim is committed (when auto-committing), then the rows are
        locked again until their results are committed. Return the claimed SMS."""
        cr = self.env.cr
        self.flush_model()
        conditions = [
            "state = 'outgoing'",
            "gateway_account_id IS NOT NULL",
            "to_delete IS NOT TRUE",
            "(next_try_date IS NULL OR next_try_date <= %s)",
        ]
        now = fields.Datetime.now()  # not the database clock: tests freeze time
        args = [now]
        if self:
            conditions.append("id = ANY(%s)")
            args.append(list(self.ids))
        elif ids:
            conditions.append("id = ANY(%s)")
            args.append(list(ids))
        query = f"SELECT id, company_id FROM sms_sms WHERE {' AND '.join(conditions)} ORDER BY id"
        if limit:
            query += " LIMIT %s"
            args.append(limit)
        rows = self._gateway_select_for_update(query + " FOR UPDATE SKIP LOCKED", args, auto_commit)
        if not rows:
            return self.browse()
        by_company = {}
        for sms_id, company_id in rows:
            by_company.setdefault(company_id, []).append(sms_id)
        claimed_ids, no_account = [], self.browse()
        for company_id, sms_ids in by_company.items():
            accounts = self._gateway_company_accounts(company_id)
            usable = accounts.filtered(lambda a: not a.cooldown_until or a.cooldown_until <= now)
            if usable:
                cr.execute(
                    """UPDATE sms_sms SET state = 'process', claimed_at = %s,
                              gateway_account_id = %s, attempt_count = COALESCE(attempt_count, 0) + 1,
                              next_try_date = NULL
                        WHERE id = ANY(%s)""",
                    (now, usable[0].id, sms_ids),
                )
                claimed_ids += sms_ids
            elif accounts:
                # every account is cooling down: wait for the first one, without spending an attempt
                cr.execute(
                    "UPDATE sms_sms SET next_try_date = %s WHERE id = ANY(%s)",
                    (min(accounts.mapped("cooldown_until")), sms_ids),
                )
            else:
                no_account |= self.browse(sms_ids)
        self.invalidate_model(["state", "claimed_at", "gateway_account_id", "attempt_count", "next_try_date"])
        if no_account:
            message = _("No active SMS provider account.")
            no_account._gateway_apply_failures({sms.uuid: ("sms_acc", message) for sms in no_account})
        if not claimed_ids and not self:
            # the whole batch waits for a cooling-down account (or had none): take the next rows of the queue
            return self._gateway_claim(ids=ids, limit=limit, auto_commit=auto_commit)
        claimed = self.browse(claimed_ids)
        # explicit resends whose credit was not reserved again (set back to outgoing by code)
        unpaid = claimed.filtered(lambda s: not s.credit_charged)
        if unpaid:
            unpaid.write({"state": "outgoing"})
            unpaid._gateway_reserve_credit()
            unpaid.filtered(lambda s: s.state == "outgoing").write({"state": "process"})
            claimed = claimed.filtered(lambda s: s.state == "process")
        if self._gateway_auto_commit(auto_commit):
            cr.commit()  # pylint: disable=invalid-commit  # the claim must be durable before the provider call
            if claimed:
                # hold the rows until their results are committed: the lock is what tells a live run from a
                # dead one; rows another run took over in between (flagged interrupted) are not sent
                cr.execute(
                    "SELECT id FROM sms_sms WHERE id = ANY(%s) AND state = 'process' FOR UPDATE SKIP LOCKED",
                    (claimed.ids,),
                )
                claimed = self.browse(sorted(row[0] for row in cr.fetchall()))
        return claimed

    def _gateway_select_for_update(self, query, args, auto_commit=None):
        """Run a ``SELECT ... FOR UPDATE SKIP LOCKED`` at the start of a transaction. Under REPEATABLE READ a
        row another run updates and commits while the query scans raises a serialization failure: in a
        committing run, start a fresh transaction and try again (nothing of ours is lost, the previous
        transaction was just committed)."""
        cr = self.env.cr
        for attempt in range(5):
            try:
                cr.execute(query, args, log_exceptions=not self._gateway_auto_commit(auto_commit))
                return cr.fetchall()
            except psycopg2.errors.SerializationFailure:
                if not self._gateway_auto_commit(auto_commit) or attempt == 4:
                    raise
                cr.rollback()
                self.env.invalidate_all()
                time.sleep(random.uniform(0.01, 0.05))
        return []

    @api.model
    def _gateway_company_accounts(self, company_id):
        return (
            self.env["sms.gateway.account"]
            .sudo()
            .search([("company_id", "=", company_id), ("active", "=", True)], order="sequence, id")
        )

    def _gateway_dispatch(self, auto_commit=None):
        """Send claimed SMS through the account each one was claimed for; every SMS ends sent, queued for a
        retry (or for the next account) or in error. Results are committed per batch."""
        for account, account_sms in self.grouped("gateway_account_id").items():
            account = account.sudo()
            messages = [
                OutgoingSms(
                    ref=sms.uuid,
                    number=sms.number,
                    body=sms.body or "",
                    unicode=sms.sms_encoding == "UCS-2",
                    segments=sms.sms_segment_count or 1,
                )
                for sms in account_sms
            ]
            try:
                connector, owned = account._gateway_run_connector()
            except Exception as error:  # e.g. the connector of this provider is not installed
                results = [
                    SendResult(message.ref, failure_type="sms_acc", error_message=str(error)) for message in messages
                ]
            else:
                try:
                    results = send_all(
                        connector,
                        messages,
                        max_concurrency=account.max_concurrency or 1,
                        rate_limit=account.rate_limit,
                        executor=getattr(connector, "dispatch_executor", None),  # one thread pool per run
                    )
                finally:
                    if owned:  # no dispatch run (direct call): close the session, keep the balance it reported
                        account._gateway_end_run({account.id: connector}, fetch_balance=False)
            account_sms._gateway_apply_results(account, results)
        if self and self._gateway_auto_commit(auto_commit):
            self.env.cr.commit()  # pylint: disable=invalid-commit  # results of a provider call are never lost

    def _gateway_apply_results(self, account, results):
        by_ref = {result.ref: result for result in results}
        successes = [
            (sms.id, by_ref[sms.uuid].provider_id) for sms in self if by_ref.get(sms.uuid, None) and by_ref[sms.uuid].ok
        ]
        failures = {}
        for sms in self:
            result = by_ref.get(sms.uuid)
            if result is None:
                failures[sms.uuid] = ("sms_server", _("The provider gave no answer for this SMS."))
            elif not result.ok:
                failures[sms.uuid] = (result.failure_type, result.error_message or "")
        if self.filtered(lambda s: s.gateway_account_id != account):
            self.write({"gateway_account_id": account.id})
        if successes:
            execute_values(
                self.env.cr._obj,
                """UPDATE sms_sms SET state = 'pending', provider_message_id = v.provider_id,
                          sent_date = (now() at time zone 'UTC'), failure_type = NULL, error_message = NULL,
                          next_try_date = NULL
                     FROM (VALUES %s) AS v(id, provider_id) WHERE sms_sms.id = v.id""",
                successes,
                page_size=1000,
            )
            sent = self.browse([sms_id for sms_id, _provider_id in successes])
            sent.invalidate_recordset(
                ["state", "provider_message_id", "sent_date", "failure_type", "error_message", "next_try_date"]
            )
            sent.sms_tracker_id._action_update_from_sms_state("pending")
        if failures:
            self._gateway_account_health(account, failures)
            self.filtered(lambda s: s.uuid in failures)._gateway_apply_failures(failures, account=account)
        self._gateway_settle_moves()
        self.mail_message_id._notify_message_notification_update()

    def _gateway_account_health(self, account, failures):
        """Put ``account`` in cool-down when it refused the account (credentials, provider credit) or when
        every SMS of the call failed on the server side: the next account of the company takes over."""
        types = {failure_type for failure_type, _message in failures.values()}
        account_error = bool(types & ACCOUNT_FAILURES)
        server_down = len(failures) == len(self) and types <= TRANSIENT_FAILURES
        if not (account_error or server_down):
            return
        cooldown = self._gateway_params()["cooldown"]
        if not cooldown:
            return
        until = fields.Datetime.now() + timedelta(seconds=cooldown)
        # written in its own short transaction: two runs failing on the same account must not collide on
        # the account row inside their long dispatch transactions (a serialization failure would lose results)
        self._gateway_side_write(
            "UPDATE sms_gateway_account SET cooldown_until = %s WHERE id = %s", (until, account.id)
        )
        account.invalidate_recordset(["cooldown_until"])
        _logger.info("SMS account %s skipped until %s after: %s", account.id, until, sorted(types))

    def _gateway_side_write(self, query, args):
        """Run one small UPDATE in its own transaction (immediately durable, never waiting long); in tests,
        in the test transaction. Return the rows the query returned, or None when it could not run."""
        if not self._gateway_auto_commit(True):
            self.env.cr.execute(query, args)
            return self.env.cr.fetchall() if self.env.cr.description else []
        try:
            with self.env.registry.cursor() as cr:
                cr.execute("SET LOCAL lock_timeout = '2s'")
                cr.execute(query, args, log_exceptions=False)
                return cr.fetchall() if cr.description else []
        except Exception:  # best effort: never lose the results of a dispatch for it
            _logger.info("Could not run %s in a separate transaction", query.split()[0:3], exc_info=True)
            return None

    def _gateway_apply_failures(self, failures, account=None):
        """``failures``: {uuid: (failure_type, message)}. While attempts remain, transient failures are retried
        with exponential backoff and jitter, and failures of an account that another active account of the
        company can replace go to that account at once; the others end in error with the provider's last
        message and their credit is refunded."""
        params = self._gateway_params()
        max_attempts = params["max_attempts"]
        now = fields.Datetime.now()
        retry, failover, final = self.browse(), self.browse(), self.browse()
        other_accounts = {}
        for sms in self:
            failure_type, _message = failures[sms.uuid]
            attempts_left = sms.attempt_count < max_attempts
            if failure_type in FAILOVER_FAILURES and attempts_left and account:
                if sms.company_id.id not in other_accounts:
                    others = self._gateway_company_accounts(sms.company_id.id) - account
                    other_accounts[sms.company_id.id] = others.filtered(
                        lambda a: not a.cooldown_until or a.cooldown_until <= now
                    )
                if other_accounts[sms.company_id.id]:
                    failover |= sms
                    continue
            if failure_type in TRANSIENT_FAILURES and attempts_left:
                retry |= sms
            else:
                final |= sms
        for sms in failover:
            failure_type, message = failures[sms.uuid]
            sms.write(
                {
                    "state": "outgoing",
                    "failure_type": failure_type,
                    "error_message": _(
                        "Attempt %(attempt)s through %(account)s failed, handed to the next account: %(error)s",
                        attempt=sms.attempt_count,
                        account=account.name,
                        error=message,
                    ),
                    "next_try_date": False,
                }
            )
        for sms in retry:
            failure_type, message = failures[sms.uuid]
            # exponential backoff with jitter: retry_delay, x2, x4... +-25%
            delay = params["retry_delay"] * 2 ** max(sms.attempt_count - 1, 0) * random.uniform(0.75, 1.25)
            sms.write(
                {
                    "state": "outgoing",
                    "failure_type": failure_type,
                    "error_message": message,  # the attempt number and the next try are fields of their own
                    "next_try_date": now + timedelta(seconds=delay),
                }
            )
        if retry:
            self._gateway_trigger_cron(at=min(retry.mapped("next_try_date")))
        groups = tools.groupby(final, key=lambda s: failures[s.uuid])
        for (failure_type, message), sms_list in groups:
            failed = self.browse([sms.id for sms in sms_list])
            failed.write(
                {"state": "error", "failure_type": failure_type, "error_message": message, "next_try_date": False}
            )
            failed.sms_tracker_id._action_update_from_sms_state("error", failure_type=failure_type)
        final._gateway_refund(_("Refund: SMS not sent"))

    def _gateway_refund(self, reference):
        """Give back the credit of SMS that were not sent (one refund move per company)."""
        charged = self.filtered("credit_charged")
        Move = self.env["sms.credit.move"].sudo()
        for company, company_sms in charged.grouped("company_id").items():
            Move.create(
                {
                    "company_id": company.id,
                    "move_type": "refund",
                    "quantity": sum(company_sms.mapped("credit_charged")),
                    "sms_count": len(company_sms),
                    "sms_id": company_sms.id if len(company_sms) == 1 else False,
                    "reference": reference,
                }
            )
        charged.write({"credit_charged": 0})
        self._gateway_settle_moves()

    @api.model
    def _gateway_settle_reserved(self, auto_commit=None):
        """Settle the reservations whose SMS all got an answer. Runs in parallel each settle what their own
        snapshot shows, so the last SMS of a reservation shared by two runs could be left "reserved" by both:
        every run ends with this pass, after its last commit, which sees the work of the runs that finished
        before it."""
        if self._gateway_auto_commit(auto_commit):
            self.env.cr.commit()  # pylint: disable=invalid-commit  # a fresh snapshot: see the other runs' results
        rows = self._gateway_select_for_update(
            """SELECT m.id FROM sms_credit_move m
                WHERE m.state = 'reserved' AND m.move_type = 'consumption'
                  AND NOT EXISTS (SELECT 1 FROM sms_sms s WHERE s.credit_move_id = m.id AND s.state IN %s)
                  FOR UPDATE OF m SKIP LOCKED""",
            (PENDING_STATES,),
            auto_commit,
        )
        if rows:
            self.env["sms.credit.move"].sudo().browse([row[0] for row in rows]).write({"state": "done"})
            if self._gateway_auto_commit(auto_commit):
                self.env.cr.commit()  # pylint: disable=invalid-commit

    def _gateway_settle_moves(self):
        """Mark consumption moves done once none of their SMS waits for the provider any more."""
        moves = self.credit_move_id.filtered(lambda m: m.state == "reserved")
        if not moves:
            return
        self.flush_model(["state", "credit_move_id"])
        self.env.cr.execute(
            "SELECT DISTINCT credit_move_id FROM sms_sms WHERE credit_move_id IN %s AND state IN %s",
            (tuple(moves.ids), PENDING_STATES),
        )
        still_pending = {row[0] for row in self.env.cr.fetchall()}
        moves.filtered(lambda m: m.id not in still_pending).sudo().write({"state": "done"})

    @api.model
    def _gateway_recover_interrupted(self, auto_commit=None):
        """SMS left "being sent" by a run that died are never resent blindly.

        A live run holds the row locks of its claimed SMS until their results are committed; PostgreSQL
        releases them when a run dies (its connection closes). So a "process" row that is not locked (and was
        claimed more than ``sms_gateway.interrupted_after`` seconds ago, to leave the claiming run the moment
        between its claim commit and its re-lock) was left by a dead run. Where the connector can ask the
        provider (``lookup(messages) -> {ref: provider id, or False when the provider never got it}``), the SMS
        are reconciled: sent, or queued again. The others are flagged "Sending interrupted — not resent" and
        refunded; a manager may resend them explicitly (History, Resend)."""
        grace = self._gateway_params()["interrupted_after"]
        if self._gateway_auto_commit(auto_commit):
            self.env.cr.commit()  # pylint: disable=invalid-commit  # a fresh snapshot for the SKIP LOCKED below
        rows = self._gateway_select_for_update(
            """SELECT id FROM sms_sms WHERE state = 'process' AND gateway_account_id IS NOT NULL
                  AND (claimed_at IS NULL OR claimed_at <= %s) ORDER BY id FOR UPDATE SKIP LOCKED""",
            (fields.Datetime.now() - timedelta(seconds=grace),),
            auto_commit,
        )
        ids = [row[0] for row in rows]
        if not ids:
            return self.browse()
        interrupted = self.browse(ids)
        for account, account_sms in interrupted.grouped("gateway_account_id").items():
            found = account_sms._gateway_lookup(account.sudo())
            sent = account_sms.filtered(lambda s, found=found: found.get(s.uuid))
            if sent:
                sent._gateway_apply_results(
                    account, [SendResult(sms.uuid, provider_id=found[sms.uuid]) for sms in sent]
                )
            never_received = account_sms.filtered(lambda s, found=found: s.uuid in found and not found[s.uuid])
            if never_received:
                # the provider says it never got them: sending them is the first send, not a resend
                never_received.write({"state": "outgoing", "claimed_at": False, "next_try_date": False})
            unknown = account_sms - sent - never_received
            if unknown:
                message = self._gateway_failure_messages()["sms_interrupted"]
                unknown._gateway_apply_failures({sms.uuid: ("sms_interrupted", message) for sms in unknown})
                _logger.warning(
                    "%(count)s SMS of account %(account)s were interrupted while being sent: flagged, not resent.",
                    {"count": len(unknown), "account": account.id},
                )
        if self._gateway_auto_commit(auto_commit):
            self.env.cr.commit()  # pylint: disable=invalid-commit  # recovered rows are settled for good
        return interrupted

    def _gateway_lookup(self, account):
        """{uuid: provider id | False} for the SMS the provider can tell about (see
        ``_gateway_recover_interrupted``); {} when the connector cannot be asked or the call fails."""
        try:
            connector = account._get_connector()
        except Exception:
            return {}
        lookup = getattr(connector, "lookup", None)
        if not lookup:
            connector.close()
            return {}
        messages = [OutgoingSms(ref=sms.uuid, number=sms.number, body=sms.body or "") for sms in self]
        try:
            return dict(lookup(messages) or {})
        except Exception:  # asking is best effort: unknown SMS are flagged instead
            _logger.info("SMS account %s: provider lookup of interrupted SMS failed", account.id, exc_info=True)
            return {}
        finally:
            connector.close()
