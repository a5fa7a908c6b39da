import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import threading
import time
from datetime import timedelta
from urllib.parse import urlsplit

import requests

from odoo import _, api, fields, models

from .sms_sms_api import CALLBACK_STATES, api_datetime

_logger = logging.getLogger(__name__)

ALLOW_PRIVATE_PARAM = "sms_gateway.api_callback_allow_private"
CALLBACK_TIMEOUT = 10  # seconds: a slow listener delays only the other callbacks of the run
MAX_ATTEMPTS = 8  # 1, 2, 4 … 64 minutes: about two hours in all
BATCH = 200
SIGNATURE_HEADER = "X-Sms-Gateway-Signature"
TIMESTAMP_HEADER = "X-Sms-Gateway-Timestamp"


def check_callback_url(url, allow_private=False):
    """The reason ``url`` may not receive callbacks (translated), or None. Refuses what is not http(s) and,
    unless ``allow_private``, hosts that resolve to loopback, link-local, private or reserved addresses (a
    callback must not reach the server's own network: server-side request forgery)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return _("The callback URL is not a valid URL.")
    if parts.scheme not in ("http", "https") or not host:
        return _("The callback URL must be an http or https URL.")
    if parts.username or parts.password:
        return _("The callback URL must not contain credentials.")
    if allow_private:
        return None
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)}
    except (OSError, UnicodeError):
        return _("The host of the callback URL cannot be resolved.")
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if ip.is_loopback or ip.is_link_local or ip.is_private or ip.is_reserved or ip.is_multicast:
            return _("The callback URL leads to a private network address, which is not allowed.")
    return None


def sign(secret, timestamp, body):
    """HMAC-SHA256 (hex) of ``timestamp.body`` with ``secret``: what the header X-Sms-Gateway-Signature holds."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class SmsGatewayCallback(models.Model):
    """A status callback waiting to be POSTed to an API caller: the outbox of callbacks.

    The cron queues one when an API SMS with a callback URL changes state (sent, delivered, failed) and sends
    them, retried with backoff; dispatch never waits for a caller's server."""

    _name = "sms.gateway.callback"
    _description = "SMS API Status Callback"
    _order = "id"

    sms_id = fields.Many2one("sms.sms", "SMS", index=True, ondelete="cascade", readonly=True)
    application_id = fields.Many2one("sms.gateway.application", required=True, ondelete="cascade", readonly=True)
    url = fields.Char(required=True, readonly=True)
    payload = fields.Text(required=True, readonly=True)
    state = fields.Selection(
        [("pending", "To send"), ("done", "Delivered"), ("failed", "Given up")],
        required=True,
        default="pending",
        readonly=True,
    )
    attempt_count = fields.Integer("Attempts", readonly=True)
    next_try_date = fields.Datetime("Next try", readonly=True, default=fields.Datetime.now)
    last_error = fields.Char(readonly=True)

    def init(self):
        self.env.cr.execute(
            """CREATE INDEX IF NOT EXISTS sms_gateway_callback_due_index ON sms_gateway_callback (next_try_date)
                WHERE state = 'pending'"""
        )

    @api.model
    def _cron_send_callbacks(self):
        self._queue_status_changes()
        self._send_due()

    @api.model
    def _queue_status_changes(self):
        """One callback per API SMS whose state changed to sent, delivered or failed since its last one."""
        cr = self.env.cr
        self.env["sms.sms"].flush_model()
        cr.execute(
            """SELECT id, state, application_id, api_callback_url FROM sms_sms
                WHERE api_callback_url IS NOT NULL AND state IS DISTINCT FROM api_callback_state
                ORDER BY id LIMIT 10000 FOR NO KEY UPDATE SKIP LOCKED"""
        )
        rows = cr.fetchall()
        if not rows:
            return self.browse()
        changed = self.env["sms.sms"].sudo().browse([row[0] for row in rows])
        by_id = {sms.id: sms for sms in changed}
        now = fields.Datetime.now()
        vals_list = []
        for sms_id, state, application_id, url in rows:
            if state not in CALLBACK_STATES or not application_id:
                continue
            sms = by_id[sms_id]
            payload = {"event": "message.status", "message": sms._api_json()[0], "occurred_at": api_datetime(now)}
            vals_list.append(
                {
                    "sms_id": sms_id,
                    "application_id": application_id,
                    "url": url,
                    "payload": json.dumps(payload, separators=(",", ":")),
                }
            )
        cr.execute("UPDATE sms_sms SET api_callback_state = state WHERE id = ANY(%s)", ([row[0] for row in rows],))
        changed.invalidate_recordset(["api_callback_state"])
        return self.sudo().create(vals_list)

    @api.model
    def _send_due(self):
        auto_commit = not getattr(threading.current_thread(), "testing", False)
        allow_private = self._allow_private()
        while True:
            due = self.sudo().search(
                [("state", "=", "pending"), ("next_try_date", "<=", fields.Datetime.now())], limit=BATCH
            )
            if not due:
                return
            with requests.Session() as session:
                for callback in due:
                    callback._send_one(session, allow_private)
                    if auto_commit:
                        self.env.cr.commit()  # pylint: disable=invalid-commit  # each callback once
            if len(due) < BATCH or not auto_commit:
                return

    @api.model
    def _allow_private(self):
        value = self.env["ir.config_parameter"].sudo().get_param(ALLOW_PRIVATE_PARAM)
        return str(value).lower() in ("1", "true", "yes")

    def _send_one(self, session, allow_private):
        self.ensure_one()
        # resolved again: a name that pointed outside when the SMS was queued may point inside now
        refused = check_callback_url(self.url, allow_private)
        if refused:
            self.write({"state": "failed", "last_error": refused, "attempt_count": self.attempt_count + 1})
            return
        body = self.payload.encode()
        timestamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: timestamp}
        secret = self.application_id.sudo().callback_secret
        if secret:
            headers[SIGNATURE_HEADER] = f"sha256={sign(secret, timestamp, body)}"
        error = None
        try:
            response = session.post(
                self.url, data=body, headers=headers, timeout=CALLBACK_TIMEOUT, allow_redirects=False
            )
            if not 200 <= response.status_code < 300:
                error = _("The listener answered HTTP %(status)s.", status=response.status_code)
        except requests.RequestException as e:
            error = _("The listener could not be reached: %(error)s", error=type(e).__name__)
        attempts = self.attempt_count + 1
        if not error:
            self.write({"state": "done", "attempt_count": attempts, "last_error": False})
        elif attempts >= MAX_ATTEMPTS:
            _logger.info("SMS API callback %s given up after %s attempts", self.id, attempts)
            self.write({"state": "failed", "attempt_count": attempts, "last_error": error})
        else:
            self.write(
                {
                    "attempt_count": attempts,
                    "last_error": error,
                    "next_try_date": fields.Datetime.now() + timedelta(minutes=2 ** (attempts - 1)),
                }
            )
