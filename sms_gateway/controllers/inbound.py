"""Inbound SMS webhooks: ``/sms_gateway/inbound/<account token>``.

The replies and opt-out events a provider forwards, with the same rules as the delivery reports (the
account's token, the provider's signature where it signs: Twilio): a bare 4xx and nothing stored when the
token, the signature or the body is wrong. An accepted request only stores the messages (a replay once) and
wakes the cron that posts them (``models/sms_inbound.py``): it answers in the same short time whatever the
record's followers.
"""

import logging

from odoo import http
from odoo.http import request

from ..models.sms_gateway_account import INBOUND_ROUTE
from .main import SmsGatewayController

_logger = logging.getLogger(__name__)


class SmsGatewayInboundController(SmsGatewayController):
    @http.route(
        "/sms_gateway/inbound/<string:token>",
        type="http",
        auth="none",  # the public user's env, set by _read_webhook
        readonly=False,  # auth="none" routes are read-only by default: it writes
        methods=["GET", "POST"],
        csrf=False,
        save_session=False,
    )
    def sms_gateway_inbound(self, token, **kwargs):
        refusal, account, connector, payload, headers = self._read_webhook(token, "inbound message", INBOUND_ROUTE)
        if refusal:
            return refusal
        try:
            if not connector.has_inbound:
                _logger.info("SMS inbound message refused for account %s: its provider forwards none", account.id)
                return self._answer(404, "Not Found")
            try:
                messages = connector.parse_inbound(payload, headers)
            except ValueError as error:
                _logger.info("SMS inbound message refused for account %s: %s", account.id, error)
                return self._answer(400, "Bad Request")
            answer, content_type = connector.inbound_answer
        finally:
            connector.close()
        request.env["sms.inbound"].sudo()._gateway_receive(account, messages)
        return request.make_response(answer, headers=[("Content-Type", content_type)], status=200)
