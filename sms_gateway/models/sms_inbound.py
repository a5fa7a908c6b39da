"""Inbound SMS: the replies and opt-outs the providers forward to ``/sms_gateway/inbound/<account token>``.

The webhook only stores what came (``_gateway_receive``: one row per provider message id and account, a replay
is stored once) and wakes the cron; the cron (``_cron_process_inbound``) reads each message for stop / start
keywords, finds the SMS it answers and posts it in the chatter of that SMS's record, or leaves it in the Inbox.
The request stays short whatever the record's followers; the posting commits in chunks.
"""

import functools
import logging
import os
import re
import threading
from datetime import timedelta

import psycopg2
import psycopg2.sql
from markupsafe import Markup

from odoo import api, fields, models, sql_db
from odoo.exceptions import AccessError
from odoo.tools import SQL

from odoo.addons.base.models.ir_cron import ODOO_NOTIFY_FUNCTION
from odoo.addons.phone_validation.tools import phone_validation

from ..providers.base import plain_words

_logger = logging.getLogger(__name__)

PROCESS_CHUNK = 200  # inbound messages posted per transaction by the cron
KINDS = [
    ("reply", "Reply"),
    ("stop", "Stop"),
    ("start", "Start"),
    ("unsubscribe", "Provider unsubscribe"),
]


NOTIFY_QUERY = psycopg2.sql.SQL("SELECT {}('cron_trigger', %s)").format(psycopg2.sql.Identifier(ODOO_NOTIFY_FUNCTION))
_notify_lock = threading.Lock()
_notify_connection = {}  # {process id: autocommit connection to the ``postgres`` database}


def notify_cron_workers(dbname):
    """Wake the cron workers as ``ir_cron._notifydb`` does (``pg_notify('cron_trigger', dbname)`` on the
    ``postgres`` database), through one autocommit connection per process: Odoo's pool never keeps a
    connection to ``postgres``, so ``_notifydb`` opens a new one each time (~10 ms). A connection that
    broke is opened again once."""
    with _notify_lock:
        for attempt in (1, 2):
            cnx = _notify_connection.get(os.getpid())
            try:
                if cnx is None or cnx.closed:  # keyed by process: a forked worker opens its own
                    cnx = psycopg2.connect(**sql_db.connection_info_for("postgres")[1])
                    cnx.autocommit = True
                    _notify_connection[os.getpid()] = cnx
                with cnx.cursor() as cur:
                    cur.execute(NOTIFY_QUERY, [dbname])
                return
            except psycopg2.Error:
                _notify_connection.pop(os.getpid(), None)
                if cnx is not None and not cnx.closed:
                    cnx.close()
                if attempt == 2:
                    raise


def keyword_of(text):
    """``text`` as a keyword: capitals without accents nor punctuation, one space between words, a number the
    person copied from the mention ("STOP 36608") left out."""
    words = re.sub(r"[^A-Z0-9]+", " ", plain_words(str(text or "")).upper()).strip()
    return re.sub(r"(?: \d+)+$", "", words)


def keywords_of(setting):
    """The keywords of a company setting (comma-separated), normalised as :func:`keyword_of`."""
    return {keyword for keyword in (keyword_of(part) for part in (setting or "").split(",")) if keyword}


class SmsInbound(models.Model):
    _name = "sms.inbound"
    _description = "Inbound SMS"
    _order = "date DESC, id DESC"
    _rec_name = "number"

    number = fields.Char("From", required=True, index=True, readonly=True, help="The phone that sent it (E.164).")
    body = fields.Text("Text", readonly=True)
    kind = fields.Selection(KINDS, readonly=True, help="Read from the text (stop / start keywords) or the provider.")
    state = fields.Selection(
        [("received", "Received"), ("posted", "In the chatter"), ("inbox", "In the Inbox")],
        default="received",
        required=True,
        readonly=True,
        index=True,
    )
    account_id = fields.Many2one(
        "sms.gateway.account", "Provider account", required=True, readonly=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    date = fields.Datetime("Received on", required=True, readonly=True, default=fields.Datetime.now)
    provider_message_id = fields.Char("Provider message id", readonly=True)
    reply_to_provider_id = fields.Char("Answers provider message", readonly=True)
    sms_id = fields.Many2one(
        "sms.sms",
        "Answers SMS",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
        help="The SMS sent to this number from this account that it answers (the last one in the reply window).",
    )
    partner_id = fields.Many2one("res.partner", "Contact", readonly=True, ondelete="set null")
    res_model = fields.Char("Posted on model", readonly=True)
    res_id = fields.Many2oneReference("Posted on record", model_field="res_model", readonly=True)
    mail_message_id = fields.Many2one("mail.message", "Chatter message", readonly=True, ondelete="set null")

    _sql_constraints = [
        # a provider sending the same message again (a retry, a replay) is stored once
        ("provider_message_unique", "UNIQUE(account_id, provider_message_id)", "This message was already received."),
    ]

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_open_record(self):
        """The record the message was posted on (read with the user's own rights)."""
        self.ensure_one()
        if not (self.res_model and self.res_id):
            return False
        record = self.env[self.res_model].browse(self.res_id)
        if not record.has_access("read"):
            raise AccessError(self.env._("You cannot open the record this SMS answers."))
        return {
            "type": "ir.actions.act_window",
            "res_model": self.res_model,
            "res_id": self.res_id,
            "view_mode": "form",
            "views": [(False, "form")],
        }

    # ------------------------------------------------------------------
    # Reception (the webhook): store once, wake the cron
    # ------------------------------------------------------------------
    @api.model
    def _gateway_receive(self, account, messages):
        """Store ``messages`` (``providers.base.InboundSms``) of ``account``; a message whose provider id was
        already received is skipped. Return the number stored.

        One INSERT (the company read from the account's row by the same statement) and one cron trigger: the
        account's company and country are read through the ORM only for a national number."""
        rows = []
        country = None
        for message in messages:
            number = message.number
            if not number or not number.startswith("+"):
                if country is None:
                    country = account.company_id.country_id
                number = self._gateway_e164(number, country)
            if not number:
                continue
            rows.append(
                SQL(
                    "(%s, %s, %s, %s, %s, %s, 'received', now() AT TIME ZONE 'UTC', %s, now() AT TIME ZONE 'UTC',"
                    " %s, now() AT TIME ZONE 'UTC')",
                    number,
                    message.text or "",
                    message.kind or None,
                    account.id,
                    message.provider_id or None,
                    message.reply_to_provider_id or None,
                    self.env.uid,
                    self.env.uid,
                )
            )
        if not rows:
            return 0
        account.flush_recordset(["company_id"])
        stored = self.env.execute_query(
            SQL(
                "INSERT INTO sms_inbound (number, body, kind, account_id, company_id, provider_message_id,"
                " reply_to_provider_id, state, date, create_uid, create_date, write_uid, write_date)"
                " SELECT v.number, v.body, v.kind, v.account_id, a.company_id, v.provider_message_id,"
                " v.reply_to_provider_id, v.state, v.date, v.create_uid, v.create_date, v.write_uid, v.write_date"
                " FROM (VALUES %s) AS v (number, body, kind, account_id, provider_message_id, reply_to_provider_id,"
                " state, date, create_uid, create_date, write_uid, write_date)"
                " JOIN sms_gateway_account a ON a.id = v.account_id"
                " ON CONFLICT (account_id, provider_message_id) DO NOTHING RETURNING id",
                SQL(", ").join(rows),
            )
        )
        if stored:
            self._gateway_wake_cron()
        return len(stored)

    @api.model
    def _gateway_wake_cron(self):
        """Run the posting cron now: what ``ir.cron._trigger()`` does, cheaper.

        One trigger row each time messages are stored (each webhook request), never skipped: a cron run deletes the triggers
        its own transaction saw, and only those (``ir_cron._reschedule_later``), and it saw the messages
        committed with them; a trigger committed during a run outlives it. The cron workers are woken after
        the commit (``NOTIFY cron_trigger`` on the ``postgres`` database, as ``ir_cron._notifydb``) through one
        connection this process keeps open, instead of a new connection each time."""
        cr = self.env.cr
        cron_id = self.env["ir.model.data"]._xmlid_to_res_id("sms_gateway.ir_cron_sms_inbound_process")
        self.env["ir.cron"].flush_model(["active"])
        cr.execute(
            """INSERT INTO ir_cron_trigger (cron_id, call_at, create_uid, create_date, write_uid, write_date)
               SELECT id, now() AT TIME ZONE 'UTC', %s, now() AT TIME ZONE 'UTC', %s, now() AT TIME ZONE 'UTC'
                 FROM ir_cron WHERE id = %s AND active""",
            [self.env.uid, self.env.uid, cron_id],
        )
        # an inactive cron is not woken (as ir.cron._trigger); one NOTIFY per transaction
        if cr.rowcount and not cr.postcommit.data.get("sms_gateway.notify_cron"):
            cr.postcommit.data["sms_gateway.notify_cron"] = True
            cr.postcommit.add(functools.partial(notify_cron_workers, cr.dbname))

    @api.model
    def _gateway_e164(self, number, country):
        """``number`` in E.164: as given when it has its country code, else read in ``country`` (the company's)."""
        if not number:
            return ""
        if number.startswith("+"):
            return number
        formatted = phone_validation.phone_format(
            number,
            country.code if country else None,
            country.phone_code if country else None,
            force_format="E164",
            raise_exception=False,
        )
        return formatted if formatted and formatted.startswith("+") else ""

    # ------------------------------------------------------------------
    # Processing (the cron): keywords, opt-outs, chatter or Inbox
    # ------------------------------------------------------------------
    @api.model
    def _cron_process_inbound(self):
        auto_commit = not getattr(threading.current_thread(), "testing", False)
        while True:
            received = self.sudo().search([("state", "=", "received")], order="id", limit=PROCESS_CHUNK)
            if not received:
                return
            received._gateway_process()
            if not auto_commit:
                continue
            self.env.cr.commit()  # pylint: disable=invalid-commit  # one chunk at a time, as mail's queue
            remaining = self.sudo().search_count([("state", "=", "received")])
            self.env["ir.cron"]._notify_progress(done=len(received), remaining=remaining)

    def _gateway_process(self):
        for inbound in self:
            company = inbound.company_id
            lang = company.partner_id.lang or "en_US"
            inbound = inbound.with_context(lang=lang).with_company(company)
            kind = inbound.kind or inbound._gateway_read_kind()
            sms = inbound._gateway_find_answered_sms()
            vals = {"kind": kind, "sms_id": sms.id, "partner_id": sms.partner_id.id}
            inbound.write(vals)
            if kind in ("stop", "unsubscribe"):
                inbound._gateway_opt_out()
            elif kind == "start":
                inbound._gateway_opt_in()
            inbound._gateway_post()

    def _gateway_read_kind(self):
        """``stop`` / ``start`` when the whole text is one of the company's keywords, else ``reply``."""
        self.ensure_one()
        keyword = keyword_of(self.body)
        if keyword and keyword in keywords_of(self.company_id.sms_stop_keywords):
            return "stop"
        if keyword and keyword in keywords_of(self.company_id.sms_start_keywords):
            return "start"
        return "reply"

    def _gateway_find_answered_sms(self):
        """The SMS this message answers: the one the provider names, else the last one sent to this number from
        this account in the company's reply window (``sms_reply_window_days``)."""
        self.ensure_one()
        Sms = self.env["sms.sms"].sudo().with_context(active_test=False)
        base = [("gateway_account_id", "=", self.account_id.id), ("sent_date", "!=", False)]
        if self.reply_to_provider_id:
            sms = Sms.search([*base, ("provider_message_id", "=", self.reply_to_provider_id)], limit=1)
            if sms and sms.number == self.number:
                return sms
        days = self.company_id.sms_reply_window_days
        if days <= 0:
            return Sms
        since = self.date - timedelta(days=days)
        return Sms.search(
            [*base, ("number", "=", self.number), ("sent_date", ">=", since)], order="sent_date DESC, id DESC", limit=1
        )

    def _gateway_reply_record(self, sms):
        """The record whose chatter shows the answered ``sms`` (its message's, its send's recipient, its
        contact), when it has a chatter and belongs to the message's company (or to none)."""
        self.ensure_one()
        candidates = []
        if sms.mail_message_id.model and sms.mail_message_id.res_id:
            candidates.append((sms.mail_message_id.model, sms.mail_message_id.res_id))
        if sms.send_batch_id.res_model and sms.send_res_id:
            candidates.append((sms.send_batch_id.res_model, sms.send_res_id))
        if sms.partner_id:
            candidates.append(("res.partner", sms.partner_id.id))
        for model, res_id in candidates:
            if model not in self.env or "message_ids" not in self.env[model]._fields:
                continue
            record = self.env[model].sudo().browse(res_id).exists()
            if not record:
                continue
            record_company = record.company_id if "company_id" in record._fields else False
            if record_company and record_company != self.company_id:
                continue  # never into another company's record
            return record
        return None

    def _gateway_post(self):
        """Post the message in the chatter of the answered SMS's record, as coming from the contact and
        notifying the followers; without one, leave it in the Inbox."""
        self.ensure_one()
        record = self._gateway_reply_record(self.sms_id) if self.sms_id else None
        if record is None:
            self.state = "inbox"
            return
        labels = {
            "reply": self.env._("SMS reply from %(number)s", number=self.number),
            "stop": self.env._("SMS from %(number)s: opted out (STOP)", number=self.number),
            "start": self.env._("SMS from %(number)s: opted in again (START)", number=self.number),
            "unsubscribe": self.env._("%(number)s unsubscribed at the provider", number=self.number),
        }
        body = Markup("<p><strong>%s</strong></p>") % labels[self.kind or "reply"]
        if self.body:
            body += Markup("<p>%s</p>") % self.body
        author = self.partner_id or self.env.ref("base.partner_root")
        # the followers' e-mails leave with the mail queue, not from this chunk
        record = record.with_context(mail_create_nosubscribe=True, mail_notify_force_send=False)
        message = record.message_post(
            body=body, author_id=author.id, message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        self.write({"state": "posted", "res_model": record._name, "res_id": record.id, "mail_message_id": message.id})

    def _gateway_opt_out(self):
        """Blacklist the number that sent this message (never another), with the reason and the date; send the
        confirmation SMS when the company asks for it."""
        self.ensure_one()
        Blacklist = self.env["phone.blacklist"].sudo().with_context(active_test=False)
        entry = Blacklist.search([("number", "=", self.number)], limit=1)
        already = bool(entry.active)
        date = fields.Datetime.to_string(self.date)
        if self.kind == "unsubscribe":
            reason = self.env._(
                "Opted out at the provider (%(account)s) on %(date)s (UTC), for %(company)s.",
                account=self.account_id.name,
                date=date,
                company=self.company_id.name,
            )
        else:
            reason = self.env._(
                "Opted out by SMS on %(date)s (UTC): replied “%(text)s” to %(company)s (%(account)s).",
                date=date,
                text=(self.body or "").strip()[:40],
                company=self.company_id.name,
                account=self.account_id.name,
            )
        entry = Blacklist._add([self.number], message=reason)
        if not already or entry.sms_optout_inbound_id:
            # a number blacklisted by a person keeps its own reason (and no START can lift it)
            entry.write(
                {
                    "sms_optout_reason": reason,
                    "sms_optout_date": self.date,
                    "sms_optout_company_id": self.company_id.id,
                    "sms_optout_inbound_id": self.id,
                }
            )
        if not already and self.kind == "stop" and self.company_id.sms_optout_confirm:
            self._gateway_send_confirmation()

    def _gateway_send_confirmation(self):
        company = self.company_id
        text = (company.sms_optout_confirm_text or "").strip() or self.env._(
            "You will not receive SMS from %(company)s any more.", company=company.name
        )
        confirmation = (
            self.env["sms.sms"]
            .sudo()
            .with_company(company)
            .create({"number": self.number, "body": text, "company_id": company.id, "partner_id": self.partner_id.id})
        )
        confirmation.send(auto_commit=False)  # queued: the dispatch cron sends it

    def _gateway_opt_in(self):
        """START lifts an opt-out this company's SMS made, when the company allows it; a number blacklisted
        by a person, or opted out from another company, stays blacklisted."""
        self.ensure_one()
        if not self.company_id.sms_start_allowed:
            return
        Blacklist = self.env["phone.blacklist"].sudo()
        entry = Blacklist.search([("number", "=", self.number)], limit=1)
        if not entry or not entry.sms_optout_inbound_id or entry.sms_optout_company_id != self.company_id:
            return
        reason = self.env._(
            "Opted in again by SMS on %(date)s (UTC): replied “%(text)s” to %(company)s.",
            date=fields.Datetime.to_string(self.date),
            text=(self.body or "").strip()[:40],
            company=self.company_id.name,
        )
        Blacklist._remove([self.number], message=reason)
