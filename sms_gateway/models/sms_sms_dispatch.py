# A dispatch run claims a batch (SELECT ... FOR NO KEY UPDATE SKIP LOCKED), marks it "process" and commits before
# calling the provider, then locks the rows again until their results are committed: a row in "process"
# that nobody locks belongs to a run that died (its connection closed and PostgreSQL released the lock).

import logging
import random
import threading
from datetime import timedelta

from odoo import _, api, fields, models, tools
from odoo.exceptions import AccessError

from ..providers.base import FAILURE_UNCERTAIN, PROVIDERS, OutgoingSms, SendResult
from ..providers.dispatch import ASK, FAILOVER, FINAL, RETRY, DispatchRun, needs_cooldown, next_step, retry_delay
from ..tools.locking import select_skip_locked, write_apart

_logger = logging.getLogger(__name__)

# what a dispatch run reads of the SMS it sends (``_gateway_outgoing_rows``)
OUTGOING_COLUMNS = (
    "id, gateway_account_id, uuid, number, body, sms_encoding, sms_segment_count, failure_type, mail_message_id"
)


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
        # a send prepared in chunks looks up the numbers its earlier chunks queued (one probe per number, not a
        # scan of the send's SMS per chunk); it also serves every "SMS of this send" query
        self.env.cr.execute(
            """CREATE INDEX IF NOT EXISTS sms_sms_gateway_send_number_index ON sms_sms (send_batch_id, number)
                WHERE send_batch_id IS NOT NULL"""
        )
        self.env.cr.execute("DROP INDEX IF EXISTS sms_sms__send_batch_id_index")  # before 18.0.1.3.0
        # the ledger's "does this reservation still wait for the provider?" probe (sms.credit.move._settle_sms):
        # without it every batch scans all the SMS of a reservation shared by thousands
        self.env.cr.execute(
            """CREATE INDEX IF NOT EXISTS sms_sms_gateway_pending_move_index ON sms_sms (credit_move_id)
                WHERE state IN ('outgoing', 'process') AND credit_move_id IS NOT NULL"""
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
            "batch_size": number("batch_size", 0),  # 0: automatic (_gateway_batch_size)
            "max_per_run": number("max_per_run", 10000) or 10000,
            "max_attempts": number("max_attempts", 4) or 1,
            "retry_delay": number("retry_delay", 60.0, float),  # seconds before the 2nd attempt, then doubled
            "cooldown": number("account_cooldown", 300.0, float),  # seconds an account is skipped after a failure
            "interrupted_after": number("interrupted_after", 60.0, float),  # grace before "process" is examined
        }

    def send(self, unlink_failed=False, unlink_sent=True, auto_commit=False, raise_exception=False):
        """Gateway SMS are sent by claim, from the queue: inside a user transaction they stay queued and the
        queue cron is woken (a provider must never be called for a row whose claim could still be rolled
        back: that is how stock Odoo sends duplicates); a committing caller (``auto_commit``) runs the queue
        on them at once."""
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
        if auto_commit is True:
            self._gateway_process_queue(ids=gateway_sms.ids)
        else:
            self._gateway_trigger_cron()

    def _send(self, unlink_failed=False, unlink_sent=True, raise_exception=False):
        gateway_sms = self.filtered("gateway_account_id")
        iap_sms = self - gateway_sms
        if iap_sms:
            super(SmsSms, iap_sms)._send(
                unlink_failed=unlink_failed, unlink_sent=unlink_sent, raise_exception=raise_exception
            )
        if gateway_sms:
            self._gateway_trigger_cron()  # sent by the queue, never from the caller's transaction

    @api.model
    def _process_queue(self, ids=None):
        """The SMS queue cron: the gateway's queue, then the IAP SMS as stock Odoo sends them."""
        self._gateway_process_queue(ids=ids)
        self.env["sms.send.batch"]._notify_done()
        domain = [("state", "=", "outgoing"), ("to_delete", "!=", True), ("gateway_account_id", "=", False)]
        iap_ids = self.search(domain, limit=10000).ids
        iap_ids = sorted(set(iap_ids) & set(ids)) if ids else sorted(iap_ids)
        if not iap_ids:
            return None
        auto_commit = not getattr(threading.current_thread(), "testing", False)
        try:
            return self.browse(iap_ids).send(unlink_failed=False, unlink_sent=True, auto_commit=auto_commit)
        except Exception:
            _logger.exception("Failed processing SMS queue")
        return None

    @api.model
    def _gateway_process_queue(self, ids=None):
        """One dispatch run: recover interrupted sends, then claim and send queued gateway SMS batch after
        batch (by query: a second worker takes the next free rows, it never waits for the first), then
        settle the reservations answered. The run commits as it goes, except under a test (as stock
        ``mail.mail.process_email_queue``): decided here, once."""
        auto_commit = not getattr(threading.current_thread(), "testing", False)
        with DispatchRun(auto_commit=auto_commit) as run:
            try:
                self._gateway_recover_interrupted(run)
                params = self._gateway_params()
                batch_size = params["batch_size"] or self._gateway_batch_size()
                done = 0
                while done < params["max_per_run"]:
                    claimed = self._gateway_claim(run, ids=ids, limit=min(batch_size, params["max_per_run"] - done))
                    if not claimed:
                        break
                    claimed._gateway_dispatch(run)
                    done += len(claimed)
                    if self.env.context.get("ir_cron_progress_id"):
                        self.env["ir.cron"]._notify_progress(done=done, remaining=self._gateway_queued_count())
                else:
                    self._gateway_trigger_cron()  # more than one run's worth: go on in the next run
                self._gateway_settle_answered(run)
            except Exception:
                _logger.exception("Failed processing the SMS gateway queue")
                if not run.auto_commit:
                    raise
                self.env.cr.rollback()
            finally:
                self.env["sms.gateway.account"]._gateway_store_run_balances(run)
                run.commit(self.env.cr)  # the balances, outside the SMS transactions

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
            # a resend is a new send: charged again unless its credit is still reserved (an SMS that failed
            # was refunded; one that may have been sent, or was sent then not delivered, stays charged)
            to_reserve = gateway_sms.sudo().filtered(
                lambda s: s.state == "outgoing" and (not s.credit_charged or s.credit_move_id.state == "done")
            )
            Move = self.env["sms.credit.move"]
            Move._reserve_sms(to_reserve)
            Move._alert_managers(to_reserve)
            self._gateway_trigger_cron()
        return res

    @api.model
    def _gateway_batch_size(self):
        """SMS claimed per batch when ``sms_gateway.batch_size`` is not set: 200, or what one request of the
        largest batching connector in use takes (a claim smaller than one provider request wastes the
        request, and every batch costs its claim, its commits and its settlement)."""
        providers = set(self.env["sms.gateway.account"].sudo().search([("active", "=", True)]).mapped("provider"))
        return max([200] + [PROVIDERS[p].batch_size or 1 for p in providers if p in PROVIDERS])

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

    def _gateway_claim(self, run, ids=None, limit=None):
        """Claim queued gateway SMS that no other run holds: those of ``self`` when not empty, else the next
        ``limit`` ones of the queue (restricted to ``ids`` when given). Each company's SMS get the account
        that sends them now (first active account, by sequence, not cooling down); claimed SMS are marked
        "process" with one more attempt and the claim is committed (when the run commits), then the rows
        are locked again until their results are committed. Return the claimed SMS."""
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
        if self or ids:
            conditions.append("id = ANY(%s)")
            args.append(list(self.ids or ids))
        query = f"SELECT id, company_id, sms_kind FROM sms_sms WHERE {' AND '.join(conditions)} ORDER BY id"
        if limit:
            query += " LIMIT %s"
            args.append(limit)
        # FOR NO KEY UPDATE (as ir_cron claims its jobs): the claim changes no key, so it does not block the
        # inserts of rows referencing these SMS (credit moves, trackers)
        rows = select_skip_locked(cr, query + " FOR NO KEY UPDATE SKIP LOCKED", args, retry=run.auto_commit)
        if not rows:
            return self.browse()
        held = self._gateway_hold_for_window(rows, now)  # the window closed since they were queued
        by_company = {}
        for sms_id, company_id, _kind in rows:
            if sms_id not in held:
                by_company.setdefault(company_id, []).append(sms_id)
        claimed_ids, unpaid_ids, no_account = [], [], self.browse()
        for company_id, sms_ids in by_company.items():
            accounts = self._gateway_company_accounts(company_id)
            usable = accounts.filtered(lambda a: not a.cooldown_until or a.cooldown_until <= now)
            if usable:
                # an SMS whose answer was lost stays with its account: that provider is asked about it first
                cr.execute(
                    """UPDATE sms_sms SET state = 'process', claimed_at = %s,
                              gateway_account_id = CASE WHEN failure_type = %s THEN gateway_account_id ELSE %s END,
                              attempt_count = COALESCE(attempt_count, 0) + 1, next_try_date = NULL
                        WHERE id = ANY(%s) RETURNING id, COALESCE(credit_charged, 0) = 0""",
                    (now, FAILURE_UNCERTAIN, usable[0].id, sms_ids),
                )
                # the uncharged ones come back with the claim: no read of the batch through the ORM for them
                unpaid_ids += [sms_id for sms_id, uncharged in cr.fetchall() if uncharged]
                claimed_ids += sms_ids
            elif accounts:
                # every account is cooling down: wait for the first one, without spending an attempt
                cr.execute(
                    "UPDATE sms_sms SET next_try_date = %s WHERE id = ANY(%s)",
                    (min(accounts.mapped("cooldown_until")), sms_ids),
                )
            else:
                no_account |= self.browse(sms_ids)
        self.invalidate_model(
            ["state", "claimed_at", "gateway_account_id", "attempt_count", "next_try_date", "window_opens_at"]
        )
        if no_account:
            message = _("No active SMS provider account.")
            no_account._gateway_apply_failures({sms.uuid: ("sms_acc", message) for sms in no_account})
        if not claimed_ids and not self:
            # the whole batch waits for a cooling-down account (or had none): take the next rows of the queue
            return self._gateway_claim(run, ids=ids, limit=limit)
        claimed = self.browse(claimed_ids)
        # explicit resends whose credit was not reserved again (set back to outgoing by code)
        unpaid = self.browse(sorted(unpaid_ids))
        if unpaid:
            unpaid.write({"state": "outgoing"})
            self.env["sms.credit.move"]._reserve_sms(unpaid)
            unpaid.filtered(lambda s: s.state == "outgoing").write({"state": "process"})
            claimed = claimed.filtered(lambda s: s.state == "process")
        if run.auto_commit:
            cr.commit()  # pylint: disable=invalid-commit  # the claim must be durable before the provider call
            if claimed:
                # hold the rows until their results are committed: the lock is what tells a live run from a
                # dead one; rows another run took over in between (flagged interrupted) are not sent
                # the rows the provider gets are read with the lock: one query, not two, per batch
                cr.execute(
                    f"""SELECT {OUTGOING_COLUMNS} FROM sms_sms WHERE id = ANY(%s) AND state = 'process'
                         ORDER BY id FOR NO KEY UPDATE SKIP LOCKED""",
                    (claimed.ids,),
                )
                rows = cr.fetchall()
                run.claimed_rows.update((row[0], row) for row in rows)
                claimed = self.browse([row[0] for row in rows])
        return claimed

    @api.model
    def _gateway_company_accounts(self, company_id):
        return (
            self.env["sms.gateway.account"]
            .sudo()
            .search([("company_id", "=", company_id), ("active", "=", True)], order="sequence, id")
        )

    def _gateway_dispatch(self, run):
        """Send claimed SMS through the account each one was claimed for; every SMS ends sent, queued for a
        retry (or for the next account) or in error. An SMS whose last answer was lost is not sent again
        before its provider was asked whether it got it. Results are committed per batch."""
        rows = self._gateway_outgoing_rows(run)
        by_account = {}
        for row in rows:
            by_account.setdefault(row[1], []).append(row)
        for account_id, account_rows in by_account.items():
            account = self.env["sms.gateway.account"].browse(account_id)
            account_sudo = account.sudo()  # its credentials, for the connector only
            account_sms = self.browse([row[0] for row in account_rows])
            # read in one query, not through the ORM record by record: the batch can hold thousands of SMS
            messages = [
                OutgoingSms(
                    ref=uuid, number=number, body=body or "", unicode=encoding == "UCS-2", segments=segments or 1
                )
                for _id, _account, uuid, number, body, encoding, segments, _failure, _message in account_rows
            ]
            uncertain = {row[2] for row in account_rows if row[7] == FAILURE_UNCERTAIN}
            settled_by_asking, asked_in_vain = [], set()
            try:
                connector = run.connector(account.id, account_sudo._get_connector, account_sudo.max_concurrency)
            except Exception as error:  # e.g. the connector of this provider is not installed
                # an SMS whose answer was lost stays uncertain (asked about later), never handed to another account
                results = [
                    SendResult(
                        message.ref,
                        failure_type=FAILURE_UNCERTAIN if message.ref in uncertain else "sms_acc",
                        error_message=str(error),
                    )
                    for message in messages
                ]
            else:
                if uncertain:
                    settled_by_asking, asked_in_vain = account_sms._gateway_ask_provider(
                        account_sudo, connector, messages, uncertain
                    )
                    answered = {result.ref for result in settled_by_asking}
                    messages = [message for message in messages if message.ref not in answered]
                results = run.send(
                    account.id,
                    messages,
                    max_concurrency=account_sudo.max_concurrency or 1,
                    rate_limit=account_sudo.rate_limit,
                )
            account_sms._gateway_apply_results(
                account_sudo,
                settled_by_asking + results,
                asked=asked_in_vain,
                rows=[(row[0], row[2], row[1], row[8]) for row in account_rows],
            )
        if self:
            run.commit(self.env.cr)  # results of a provider call are never lost

    def _gateway_outgoing_rows(self, run=None):
        """``(id, account id, uuid, number, body, encoding, segments, failure type, message id)`` of the SMS of
        ``self``, in id order: those ``run`` read when it locked them again after its claim, else in one query
        (the rows are claimed: locked by this run)."""
        if run is not None and all(sms_id in run.claimed_rows for sms_id in self._ids):
            return [run.claimed_rows.pop(sms_id) for sms_id in sorted(self._ids)]
        self.flush_recordset()
        self.env.cr.execute(
            f"SELECT {OUTGOING_COLUMNS} FROM sms_sms WHERE id = ANY(%s) ORDER BY id",
            (list(self._ids),),
        )
        return self.env.cr.fetchall()

    def _gateway_ask_provider(self, account, connector, messages, refs):
        """A lost answer is not a refusal: before SMS whose request may have reached the provider (``refs``)
        are sent again, ask the provider. Return ``(results, unknown)``: the results it settles (found: sent,
        with its id; otherwise still ``sms_uncertain``), and the refs the provider answered about without
        knowing them (uncertain for good). When the provider cannot be asked now (down, timeout), they are
        asked again at their next try. Those it definitely never got are left out: sent now, as a first
        send."""
        asked = [message for message in messages if message.ref in refs]
        previous = {sms.uuid: sms.error_message for sms in self}
        try:
            found, answered = dict(connector.lookup(asked) or {}), True
        except Exception as error:  # never resent: asked again later
            _logger.info("SMS account %s: the provider could not be asked about lost answers: %s", account.id, error)
            found, answered = {}, False
        results, unknown = [], set()
        for message in asked:
            if found.get(message.ref):
                results.append(SendResult(message.ref, provider_id=str(found[message.ref])))
            elif message.ref not in found:
                results.append(
                    SendResult(message.ref, failure_type=FAILURE_UNCERTAIN, error_message=previous.get(message.ref))
                )
                if answered:
                    unknown.add(message.ref)
        return results, unknown

    def _gateway_apply_results(self, account, results, asked=(), rows=None):
        """Record the provider's answers; ``asked``: refs the provider was already asked about, in vain
        (they end uncertain, never asked again); ``rows``: ``(id, uuid, account id, message id)`` of the SMS
        of ``self`` when the caller has read them."""
        by_ref = {result.ref: result for result in results}
        if rows is None:
            self.flush_recordset(["gateway_account_id"])
            self.env.cr.execute(
                "SELECT id, uuid, gateway_account_id, mail_message_id FROM sms_sms WHERE id = ANY(%s) ORDER BY id",
                (list(self._ids),),
            )
            rows = self.env.cr.fetchall()
        successes, failures, failed_ids = [], {}, []
        for sms_id, uuid, _account_id, _message_id in rows:
            result = by_ref.get(uuid)
            if result is not None and result.ok:
                successes.append((sms_id, result.provider_id))
            else:
                failed_ids.append(sms_id)
                if result is None:
                    failures[uuid] = ("sms_server", _("The provider gave no answer for this SMS."))
                else:
                    failures[uuid] = (result.failure_type, result.error_message or "")
        elsewhere = [sms_id for sms_id, _uuid, account_id, _message_id in rows if account_id != account.id]
        if elsewhere:
            self.browse(elsewhere).write({"gateway_account_id": account.id})
        if successes:
            # every SMS the provider took, in one statement whatever the batch size (two arrays, not a VALUES
            # list to render and parse row by row), which also returns their trackers (mass mailing)
            self.env.cr.execute(
                """WITH sent AS (
                       UPDATE sms_sms SET state = 'pending', provider_message_id = v.provider_id,
                              sent_date = (now() at time zone 'UTC'), failure_type = NULL, error_message = NULL,
                              next_try_date = NULL
                         FROM unnest(%s::int[], %s::varchar[]) AS v(id, provider_id) WHERE sms_sms.id = v.id
                    RETURNING sms_sms.uuid)
                   SELECT t.id FROM sms_tracker t JOIN sent ON t.sms_uuid = sent.uuid ORDER BY t.id""",
                ([sms_id for sms_id, _pid in successes], [pid for _id, pid in successes]),
            )
            trackers = self.env["sms.tracker"].browse([row[0] for row in self.env.cr.fetchall()])
            sent = self.browse([sms_id for sms_id, _provider_id in successes])
            sent.invalidate_recordset(
                ["state", "provider_message_id", "sent_date", "failure_type", "error_message", "next_try_date"]
            )
            trackers._action_update_from_sms_state("pending")
        if failures:
            self._gateway_account_health(account, failures)
            self.browse(failed_ids)._gateway_apply_failures(failures, account=account, asked=asked)
        self.env["sms.credit.move"]._settle_sms(self)
        self._api_wake_callbacks()
        # the messages of the batch from its rows: self.mail_message_id would fetch every column of every SMS
        message_ids = sorted({message_id for *_row, message_id in rows if message_id})
        if message_ids:
            self.env["mail.message"].browse(message_ids)._notify_message_notification_update()

    def _gateway_trackers(self):
        """``self.sms_tracker_id`` in one indexed query: the stock compute searches the trackers, then maps
        them back record by record, which costs more than the batch's own writes."""
        if not self:
            return self.env["sms.tracker"]
        self.env.cr.execute(
            "SELECT t.id FROM sms_tracker t JOIN sms_sms s ON s.uuid = t.sms_uuid WHERE s.id = ANY(%s) ORDER BY t.id",
            (list(self._ids),),
        )
        return self.env["sms.tracker"].browse([row[0] for row in self.env.cr.fetchall()])

    def _gateway_account_health(self, account, failures):
        """Put ``account`` in cool-down when it refused the account (credentials, provider credit) or when
        every SMS of the call failed on the server side: the next account of the company takes over."""
        types = {failure_type for failure_type, _message in failures.values()}
        if not needs_cooldown(types, all_failed=len(failures) == len(self)):
            return
        cooldown = self._gateway_params()["cooldown"]
        if not cooldown:
            return
        until = fields.Datetime.now() + timedelta(seconds=cooldown)
        write_apart(self.env, "UPDATE sms_gateway_account SET cooldown_until = %s WHERE id = %s", (until, account.id))
        account.invalidate_recordset(["cooldown_until"])
        _logger.info("SMS account %s skipped until %s after: %s", account.id, until, sorted(types))

    def _gateway_apply_failures(self, failures, account=None, asked=()):
        """``failures``: {uuid: (failure_type, message)}. Each SMS is handed to another account of its
        company, retried later or ended in error (``providers.dispatch.next_step``); those ended get the
        provider's last message and their credit back. One write per group of SMS, not per SMS."""
        params = self._gateway_params()
        now = fields.Datetime.now()
        usable_others = {}
        steps = {FAILOVER: [], RETRY: [], ASK: [], FINAL: []}
        for sms in self:
            failure_type, _message = failures[sms.uuid]
            company_id = sms.company_id.id
            if account and company_id not in usable_others:
                others = self._gateway_company_accounts(company_id) - account
                usable_others[company_id] = bool(
                    others.filtered(lambda a: not a.cooldown_until or a.cooldown_until <= now)
                )
            can_ask = bool(account) and account.provider in PROVIDERS and PROVIDERS[account.provider].has_lookup
            can_ask = can_ask and sms.uuid not in asked
            step = next_step(
                failure_type, sms.attempt_count, params["max_attempts"], usable_others.get(company_id), can_ask
            )
            steps[step].append(sms)
        failover_groups = tools.groupby(steps[FAILOVER], key=lambda s: (s.attempt_count, failures[s.uuid]))
        for (attempt, (failure_type, message)), sms_list in failover_groups:
            self.browse([sms.id for sms in sms_list]).write(
                {
                    "state": "outgoing",
                    "failure_type": failure_type,
                    "error_message": _(
                        "Attempt %(attempt)s through %(account)s failed, handed to the next account: %(error)s",
                        attempt=attempt,
                        account=account.name,
                        error=message,
                    ),
                    "next_try_date": False,
                }
            )
        if steps[RETRY] or steps[ASK]:
            # both wait for their next try; an SMS that may have been sent (ASK) keeps its failure type: the
            # provider is asked about it, through the same account, before anything is sent again
            retry = self.browse([sms.id for sms in steps[RETRY] + steps[ASK]])
            retry.flush_recordset()
            next_tries = [
                (
                    sms.id,
                    now
                    + timedelta(
                        seconds=retry_delay(params["retry_delay"], sms.attempt_count, random.uniform(0.75, 1.25))
                    ),
                    *failures[sms.uuid],  # the attempt number and the next try are fields of their own
                )
                for sms in retry
            ]
            self.env.cr.execute_values(
                """UPDATE sms_sms SET state = 'outgoing', next_try_date = v.next_try,
                          failure_type = v.failure_type, error_message = v.message
                     FROM (VALUES %s) AS v(id, next_try, failure_type, message) WHERE sms_sms.id = v.id""",
                next_tries,
                template="(%s, %s::timestamp, %s, %s)",
                page_size=1000,
            )
            retry.invalidate_recordset(["state", "next_try_date", "failure_type", "error_message"])
            self._gateway_trigger_cron(at=min(next_try for _id, next_try, *_rest in next_tries))
        final = self.browse([sms.id for sms in steps[FINAL]])
        uncertain_label = self._gateway_failure_messages()[FAILURE_UNCERTAIN]
        for (failure_type, message), sms_list in tools.groupby(final, key=lambda s: failures[s.uuid]):
            failed = self.browse([sms.id for sms in sms_list])
            if failure_type == FAILURE_UNCERTAIN:
                message = f"{uncertain_label} ({message})" if message else uncertain_label
            failed.write(
                {"state": "error", "failure_type": failure_type, "error_message": message, "next_try_date": False}
            )
            failed._gateway_trackers()._action_update_from_sms_state("error", failure_type=failure_type)
        # an SMS the provider may have sent stays charged: it most likely charged it
        refunded = final.filtered(lambda s: failures[s.uuid][0] != FAILURE_UNCERTAIN)
        self.env["sms.credit.move"]._refund_sms(refunded, _("Refund: SMS not sent"))
        self.env["sms.credit.move"]._settle_sms(final - refunded)
        final._api_wake_callbacks()

    def _gateway_settle_answered(self, run):
        """The ledger's end-of-run pass (``sms.credit.move._settle_answered``), in a fresh transaction."""
        run.commit(self.env.cr)  # a fresh snapshot: see the other runs' results
        if self.env["sms.credit.move"]._settle_answered(retry_serialization=run.auto_commit):
            run.commit(self.env.cr)

    @api.model
    def _gateway_recover_interrupted(self, run):
        """SMS left "being sent" by a run that died are never resent blindly.

        A live run holds the row locks of its claimed SMS until their results are committed; PostgreSQL
        releases them when a run dies (its connection closes). So a "process" row that is not locked (and was
        claimed more than ``sms_gateway.interrupted_after`` seconds ago, to leave the claiming run the moment
        between its claim commit and its re-lock) was left by a dead run. Where the connector can ask the
        provider (``lookup(messages) -> {ref: provider id, or False when the provider never got it}``), the SMS
        are reconciled: sent, or queued again. The others are flagged "Sending interrupted — not resent" and
        refunded; a manager may resend them explicitly (History, Resend)."""
        grace = self._gateway_params()["interrupted_after"]
        run.commit(self.env.cr)  # a fresh snapshot for the SKIP LOCKED below
        rows = select_skip_locked(
            self.env.cr,
            """SELECT id FROM sms_sms WHERE state = 'process' AND gateway_account_id IS NOT NULL
                  AND (claimed_at IS NULL OR claimed_at <= %s) ORDER BY id FOR NO KEY UPDATE SKIP LOCKED""",
            (fields.Datetime.now() - timedelta(seconds=grace),),
            retry=run.auto_commit,
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
        run.commit(self.env.cr)  # recovered rows are settled for good
        return interrupted

    def _gateway_lookup(self, account):
        """{uuid: provider id | False} for the SMS the provider can tell about (see
        ``_gateway_recover_interrupted``); {} when the connector cannot be asked or the call fails."""
        try:
            connector = account._get_connector()
        except Exception:
            return {}
        messages = [OutgoingSms(ref=sms.uuid, number=sms.number, body=sms.body or "") for sms in self]
        try:
            return dict(connector.lookup(messages) or {})
        except Exception as error:  # asking is best effort: unknown SMS are flagged instead
            _logger.warning(
                "SMS account %s: the provider could not be asked about %s interrupted SMS: %s",
                account.id,
                len(self),
                connector.redact(str(error)),
            )
            return {}
        finally:
            connector.close()
