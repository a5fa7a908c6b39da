import logging
import threading
import time
from ast import literal_eval
from datetime import timedelta

from psycopg2.errors import TransactionRollbackError

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.osv import expression

_logger = logging.getLogger(__name__)

# A chunk that fails this many times in a row stops its send (a deterministic error, not a passing one).
PREPARATION_ATTEMPTS = 3
QUEUED_STATES = ("outgoing", "process")
SENT_STATES = ("pending", "sent")
FAILED_STATES = ("error", "canceled")


class SmsSendBatch(models.Model):
    """One "Send SMS" action: the SMS it queued, who sent them, what it cost and how far the queue is."""

    _name = "sms.send.batch"
    _description = "SMS send"
    _order = "id DESC"

    name = fields.Char("Label", required=True, readonly=True)
    user_id = fields.Many2one("res.users", "Sent by", required=True, readonly=True, index=True)
    company_id = fields.Many2one("res.company", "Company", required=True, readonly=True, index=True)
    gateway_account_id = fields.Many2one("sms.gateway.account", "Provider account", readonly=True)
    res_model = fields.Char("Document model", readonly=True)
    res_model_description = fields.Char("Documents", readonly=True)
    body = fields.Text("Message", readonly=True)
    recipient_count = fields.Integer("Selected", readonly=True)
    valid_count = fields.Integer("Valid recipients", readonly=True)
    invalid_count = fields.Integer("Invalid or missing numbers", readonly=True)
    duplicate_count = fields.Integer("Duplicates", readonly=True)
    blacklist_count = fields.Integer("Blacklisted or opted out", readonly=True)
    segment_min = fields.Integer("Segments per SMS (min)", readonly=True)
    segment_max = fields.Integer("Segments per SMS (max)", readonly=True)
    credit_total = fields.Integer("Total cost (SMS units)", readonly=True)
    sms_ids = fields.One2many("sms.sms", "send_batch_id", "SMS", readonly=True)
    # A big send is recorded at once and its SMS prepared in the background, chunk by chunk (see
    # _cron_prepare): the recipients are the records of ``res_domain``, taken by increasing id after
    # ``prepared_up_to``, each chunk committed with the new cursor, so a crash resumes where it stopped.
    preparation = fields.Selection(
        [("preparing", "Preparing"), ("prepared", "Prepared"), ("canceled", "Canceled")],
        "Preparation",
        default="prepared",
        required=True,
        readonly=True,
        index=True,
    )
    res_domain = fields.Text("Recipients", readonly=True, groups="base.group_system")
    composer_values = fields.Json("Composer settings", readonly=True, groups="base.group_system")
    prepared_up_to = fields.Integer("Prepared up to record", readonly=True, groups="base.group_system")
    prepared_count = fields.Integer("Recipients prepared", readonly=True)
    credit_move_id = fields.Many2one(
        "sms.credit.move", "Credit reservation", readonly=True, help="The whole send's cost, reserved when it was sent."
    )
    credit_reserved = fields.Integer("Credit reserved", readonly=True)
    credit_used = fields.Integer("Credit used by prepared SMS", readonly=True)
    preparation_failures = fields.Integer("Failed preparation attempts", readonly=True, copy=False)
    preparation_error = fields.Char("Preparation error", readonly=True, copy=False)
    done_notified = fields.Boolean("Sender told it is over", readonly=True, copy=False)
    scheduled_at = fields.Datetime(
        "Scheduled for", readonly=True, copy=False, help="A scheduled send is prepared and sent from this time on."
    )
    sms_count = fields.Integer("SMS count", compute="_compute_progress")
    queued_count = fields.Integer("Queued", compute="_compute_progress")
    sent_count = fields.Integer("Sent", compute="_compute_progress")
    failed_count = fields.Integer("Failed or canceled", compute="_compute_progress")
    progress = fields.Float("Progress (%)", compute="_compute_progress")
    remaining_count = fields.Integer("Remaining", compute="_compute_progress")
    state = fields.Selection(
        [
            ("scheduled", "Scheduled"),
            ("preparing", "Preparing"),
            ("queued", "Sending"),
            ("done", "Done"),
            ("canceled", "Canceled"),
        ],
        "Status",
        compute="_compute_progress",
        search="_search_state",
    )

    def _compute_progress(self):
        counts = {}
        now = fields.Datetime.now()
        if self.ids:
            groups = (
                self.env["sms.sms"]
                .sudo()
                ._read_group([("send_batch_id", "in", self.ids)], ["send_batch_id", "state"], ["__count"])
            )
            for batch, state, count in groups:
                counts.setdefault(batch.id, {})[state] = count
        for batch in self:
            by_state = counts.get(batch.id, {})
            batch.sms_count = sum(by_state.values())
            batch.queued_count = sum(by_state.get(state, 0) for state in QUEUED_STATES)
            batch.sent_count = sum(by_state.get(state, 0) for state in SENT_STATES)
            batch.failed_count = sum(by_state.get(state, 0) for state in FAILED_STATES)
            # while preparing, what is left counts the recipients not prepared yet
            expected = max(batch.sms_count, batch.valid_count) if batch.preparation == "preparing" else batch.sms_count
            batch.remaining_count = expected - batch.sent_count - batch.failed_count
            batch.progress = 100.0 * (expected - batch.remaining_count) / expected if expected else 100.0
            if batch.preparation == "preparing":
                batch.state = "scheduled" if batch.scheduled_at and batch.scheduled_at > now else "preparing"
            elif batch.queued_count:
                batch.state = "queued"
            else:
                batch.state = "canceled" if batch.preparation == "canceled" else "done"

    @api.model
    def _search_state(self, operator, value):
        if operator not in ("=", "!="):
            raise NotImplementedError(_("Unsupported search on the send status."))
        queued = self.env["sms.sms"].sudo()._search([("state", "in", QUEUED_STATES), ("send_batch_id", "!=", False)])
        with_queue = [("sms_ids", "any", [("id", "in", queued)])]
        later = ["&", ("scheduled_at", "!=", False), ("scheduled_at", ">", fields.Datetime.now())]
        domains = {
            "scheduled": [("preparation", "=", "preparing"), *later],
            "preparing": [("preparation", "=", "preparing"), "!", *later],
            "queued": [("preparation", "!=", "preparing"), *with_queue],
            "done": [("preparation", "=", "prepared"), "!", *with_queue],
            "canceled": [("preparation", "=", "canceled"), "!", *with_queue],
        }
        domain = expression.normalize_domain(domains.get(value, expression.FALSE_DOMAIN))
        return domain if operator == "=" else ["!", *domain]

    def action_open_sms(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("sms_gateway.sms_sms_action_history")
        action.update(
            {
                "domain": [("send_batch_id", "=", self.id)],
                "context": {"create": False},
                "name": self.name,
            }
        )
        return action

    # ------------------------------------------------------------------
    # Background preparation of a big send
    # ------------------------------------------------------------------
    @api.model
    def _chunk_size(self):
        return int(self.env["ir.config_parameter"].sudo().get_param("sms_gateway.prepare_chunk_size", 5000))

    @api.model
    def _trigger_preparation(self):
        self.env.ref("sms_gateway.ir_cron_sms_gateway_prepare_sends").sudo()._trigger()

    @api.model
    def _cron_prepare(self, time_budget=30.0):
        """Prepare the SMS of the sends being prepared, one committed chunk at a time, for about
        ``time_budget`` seconds (then the cron is triggered again: a worker's time limit never kills it)."""
        started = time.monotonic()
        auto_commit = not getattr(threading.current_thread(), "testing", False)
        while time.monotonic() - started < time_budget:
            batch = self._lock_next_preparing()
            if not batch:
                return
            try:
                with self.env.cr.savepoint():
                    batch._prepare_next_chunk()
            except Exception as error:  # rolled back to the savepoint: a failing send never blocks the others
                batch._preparation_failed(error)
            if auto_commit:
                # pylint: disable-next=invalid-commit
                self.env.cr.commit()  # the chunk and its cursor together: a crash resumes after it
                self.env.invalidate_all()  # memory stays flat whatever the size of the send
        self._trigger_preparation()

    @api.model
    def _lock_next_preparing(self):
        """The oldest send being prepared that no other worker is preparing (locked until the commit)."""
        self.flush_model(["preparation"])
        self.env.cr.execute(
            """SELECT id FROM sms_send_batch WHERE preparation = 'preparing'
                  AND (scheduled_at IS NULL OR scheduled_at <= %s)
                ORDER BY id LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED""",
            (fields.Datetime.now(),),  # a scheduled send waits for its time
        )
        row = self.env.cr.fetchone()
        return self.browse(row[0]) if row else self.browse()

    def _prepare_next_chunk(self):
        """Create the SMS of the next chunk of recipients (by increasing id), as the person who sent, and move
        the cursor; the last chunk ends the preparation (unused credit given back)."""
        self.ensure_one()
        batch = self.sudo()
        values = dict(batch.composer_values or {})
        user = batch.user_id
        context = {
            **self.env.context,
            "lang": values.get("lang") or user.lang,
            "allowed_company_ids": [batch.company_id.id],
        }
        env = self.env(user=user, context=context)
        Records = env[batch.res_model]
        chunk = Records.search(
            [*literal_eval(batch.res_domain or "[]"), ("id", ">", batch.prepared_up_to)],
            order="id",
            limit=self._chunk_size(),
        )
        if chunk:
            composer = (
                env["sms.composer"]
                .with_context(
                    sms_origin=values.get("origin"),
                    sms_send_batch_id=batch.id,
                    sms_gateway_prepaid_send=batch.id,
                    active_model=False,
                    active_ids=False,
                    active_domain=False,
                )
                .create(
                    {
                        "composition_mode": "mass",
                        "res_model": batch.res_model,
                        "res_ids": repr(chunk.ids),
                        "body": values.get("body") or "",
                        "template_id": values.get("template_id") or False,
                        "mass_keep_log": values.get("mass_keep_log", True),
                        "mass_use_blacklist": values.get("mass_use_blacklist", True),
                        "number_field_name": values.get("number_field_name") or False,
                        "sms_kind": values.get("sms_kind") or "marketing",
                    }
                )
            )
            composer._action_send_sms_mass(chunk)
            batch.write(
                {
                    "prepared_up_to": chunk[-1].id,
                    "prepared_count": batch.prepared_count + len(chunk),
                    "preparation_failures": 0,
                }
            )
            self.env["sms.sms"]._gateway_trigger_cron()  # the first chunks leave while the next are prepared
        if len(chunk) < self._chunk_size():
            batch._finish_preparation("prepared")

    def _preparation_failed(self, error):
        """A chunk failed (rolled back): tried again on the next run, up to PREPARATION_ATTEMPTS times in a
        row; then the send stops, the credit it did not use is given back and its sender is told why."""
        self.ensure_one()
        batch = self.sudo()
        if isinstance(error, TransactionRollbackError):
            # a concurrent send of the company (credit lock, cap per recipient): the chunk is simply tried
            # again on a fresh snapshot, it is not a failure of this send
            _logger.info("SMS send %s: chunk met a concurrent send, tried again", batch.id)
            return
        _logger.warning("SMS send %s: preparing a chunk failed: %s", batch.id, error, exc_info=True)
        batch.preparation_failures += 1
        batch.preparation_error = str(error)[:500]
        if batch.preparation_failures < PREPARATION_ATTEMPTS:
            return
        batch._finish_preparation("canceled")
        batch.user_id._bus_send(
            "simple_notification",
            {
                "type": "danger",
                "sticky": True,
                "title": _("SMS send stopped"),
                "message": _(
                    "%(name)s: its SMS could not be prepared (%(error)s); %(count)s were queued, the rest of its "
                    "credit was given back.",
                    name=batch.name,
                    error=batch.preparation_error,
                    count=batch.prepared_count,
                ),
            },
        )

    def _finish_preparation(self, preparation):
        """End the preparation (``prepared`` or ``canceled``): the credit reserved and not used is given back."""
        for batch in self.sudo():
            batch.preparation = preparation
            batch.credit_total = batch.credit_used
            self.env["sms.credit.move"]._release_send_reservation(batch)

    def action_cancel(self):
        """Stop a send: its preparation stops and its SMS not handed to a provider yet are canceled and
        refunded (those being sent right now finish)."""
        for batch in self:
            batch.check_access("read")
            if batch.user_id != self.env.user and not self.env.user.has_group("sms_gateway.group_sms_manager"):
                raise UserError(_("Only the person who sent it or an SMS manager can cancel this send."))
        batches = self.sudo()
        preparing = batches.filtered(lambda b: b.preparation == "preparing")
        if preparing:
            # wait for a chunk being prepared right now: it commits its SMS, then they are canceled below
            self.env.cr.execute(
                "SELECT id FROM sms_send_batch WHERE id IN %s FOR NO KEY UPDATE", (tuple(preparing.ids),)
            )
            preparing.invalidate_recordset()
        queued = self.env["sms.sms"].sudo().search([("send_batch_id", "in", batches.ids), ("state", "=", "outgoing")])
        queued._gateway_cancel_queued()
        preparing.filtered(lambda b: b.preparation == "preparing")._finish_preparation("canceled")
        return True

    @api.model
    def _notify_done(self):
        """Tell the senders of the sends that are over (prepared, nothing queued) once."""
        recent = fields.Datetime.now() - timedelta(days=2)  # sends older than the feature are not told
        candidates = self.sudo().search(
            [("done_notified", "=", False), ("preparation", "!=", "preparing"), ("create_date", ">=", recent)]
        )
        candidates.invalidate_recordset()  # their progress is computed from the SMS the run just wrote
        for batch in candidates.filtered(lambda b: b.state in ("done", "canceled")):
            batch.done_notified = True
            if not batch.valid_count:
                continue
            batch.user_id._bus_send(
                "simple_notification",
                {
                    "type": "success" if not batch.failed_count else "warning",
                    "title": _("SMS send finished"),
                    "message": _(
                        "%(name)s: %(sent)s sent, %(failed)s failed or canceled.",
                        name=batch.name,
                        sent=batch.sent_count,
                        failed=batch.failed_count,
                    ),
                },
            )
