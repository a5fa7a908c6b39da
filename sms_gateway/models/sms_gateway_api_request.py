import json
import logging
import threading
from datetime import timedelta

from odoo import api, fields, models

_logger = logging.getLogger(__name__)

# an Idempotency-Key is remembered this long
IDEMPOTENCY_HOURS = 24
GC_CHUNK = 1000


class SmsGatewayApiRequest(models.Model):
    """A request of the JSON API sent with an ``Idempotency-Key``, and its answer: the same key with the same
    body within 24 hours gets this answer again (nothing is sent twice), with another body a 409.

    The row is inserted by the request before it queues anything, in the same transaction (see ``_claim``):
    two requests with the same key at once cannot both queue their SMS, the second waits for the first."""

    _name = "sms.gateway.api.request"
    _description = "SMS API Request"
    _order = "id desc"
    _log_access = False

    application_id = fields.Many2one("sms.gateway.application", required=True, ondelete="cascade", readonly=True)
    idempotency_key = fields.Char(required=True, readonly=True)
    request_hash = fields.Char(required=True, readonly=True, help="SHA-256 of the method, path and body.")
    status_code = fields.Integer(readonly=True)
    response_body = fields.Text(readonly=True)
    create_date = fields.Datetime(readonly=True, default=fields.Datetime.now, index=True)

    _sql_constraints = [
        (
            "idempotency_key_unique",
            "UNIQUE(application_id, idempotency_key)",
            "An Idempotency-Key is used once per application.",
        ),
    ]

    @api.model
    def _claim(self, application_id, key, request_hash):
        """Take ``key`` for this request, or return the earlier request that holds it.

        :return: None when the key is ours (its row is inserted, not committed), else ``(request_hash,
            status_code, response body)`` of the request that used it first (waiting for it to end when it
            is still running: PostgreSQL's unique index makes the second insert wait)."""
        cr = self.env.cr
        expired = fields.Datetime.now() - timedelta(hours=IDEMPOTENCY_HOURS)
        cr.execute(
            "DELETE FROM sms_gateway_api_request WHERE application_id = %s AND idempotency_key = %s "
            "AND create_date < %s",
            (application_id, key, expired),
        )
        cr.execute(
            """INSERT INTO sms_gateway_api_request (application_id, idempotency_key, request_hash, create_date)
               VALUES (%s, %s, %s, %s)
               ON CONFLICT (application_id, idempotency_key) DO NOTHING RETURNING id""",
            (application_id, key, request_hash, fields.Datetime.now()),
        )
        if cr.fetchone():
            return None
        cr.execute(
            "SELECT request_hash, status_code, response_body FROM sms_gateway_api_request "
            "WHERE application_id = %s AND idempotency_key = %s",
            (application_id, key),
        )
        row = cr.fetchone()
        if row is None:  # the other request's row expired and was deleted meanwhile: rare; claim again
            return self._claim(application_id, key, request_hash)
        return row[0], row[1], row[2] and json.loads(row[2])

    @api.model
    def _store_answer(self, application_id, key, status_code, body):
        self.env.cr.execute(
            "UPDATE sms_gateway_api_request SET status_code = %s, response_body = %s "
            "WHERE application_id = %s AND idempotency_key = %s",
            (status_code, json.dumps(body), application_id, key),
        )

    @api.autovacuum
    def _gc_expired(self):
        """Forget the keys older than 24 hours, by chunks with a commit between them."""
        auto_commit = not getattr(threading.current_thread(), "testing", False)
        limit = fields.Datetime.now() - timedelta(hours=IDEMPOTENCY_HOURS)
        while True:
            self.env.cr.execute(
                """DELETE FROM sms_gateway_api_request WHERE id IN (
                       SELECT id FROM sms_gateway_api_request WHERE create_date < %s LIMIT %s)""",
                (limit, GC_CHUNK),
            )
            deleted = self.env.cr.rowcount
            if auto_commit:
                self.env.cr.commit()  # pylint: disable=invalid-commit  # one chunk at a time
            if deleted < GC_CHUNK:
                break
