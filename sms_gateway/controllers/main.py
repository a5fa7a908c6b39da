"""Delivery report webhooks: ``/sms_gateway/dlr/<account token>``.

One URL per provider account, authenticated by the account's unguessable token (and by the provider's
signature where it signs its callbacks: Twilio). The answer never says anything about the SMS: ``OK``, or a
bare 4xx when the token, the signature, the body or the message is wrong, in which case nothing changes.
"""

import json
import logging

from werkzeug.exceptions import BadRequest

from odoo import http
from odoo.http import request

from ..models.sms_gateway_account import WEBHOOK_ROUTE

_logger = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # a delivery report is small


class SmsGatewayController(http.Controller):
    @http.route(
        "/sms_gateway/dlr/<string:token>",
        type="http",
        auth="none",  # the public user's env, set by _read_webhook
        readonly=False,  # auth="none" routes are read-only by default: it writes
        methods=["GET", "POST"],
        csrf=False,
        save_session=False,
    )
    def sms_gateway_delivery_report(self, token, **kwargs):
        refusal, account, connector, payload, headers = self._read_webhook(token, "delivery report")
        if refusal:
            return refusal
        try:
            reports = connector.parse_delivery_report(payload, headers)
        except ValueError as error:
            _logger.info("SMS delivery report refused for account %s: %s", account.id, error)
            return self._answer(400, "Bad Request")
        finally:
            connector.close()
        if reports and not request.env["sms.sms"].sudo()._gateway_apply_delivery_reports(account, reports):
            _logger.info("SMS delivery report for account %s: unknown message", account.id)
            return self._answer(404, "Not Found")
        return self._answer(200, "OK")

    def _read_webhook(self, token, what, route=WEBHOOK_ROUTE):
        """The account, its connector, the payload and the headers of a provider's request to one of the
        account's URLs, checked: ``(refusal, account, connector, payload, headers)`` where ``refusal`` is the
        bare 4xx answer to give (and nothing else is set) when the token, the size, the body or the signature
        is wrong. The caller closes the connector."""
        refused = (None,) * 4
        if not request.db:  # auth="none" routes are served without database too (several, no filter)
            return (self._answer(404, "Not Found"), *refused)
        self._webhook_env()
        Account = request.env["sms.gateway.account"].sudo()
        found = Account._gateway_webhook_account(token)  # active accounts only
        if not found:
            _logger.info("SMS %s refused: unknown webhook token", what)
            return (self._answer(404, "Not Found"), *refused)
        account = Account.browse(found.id)
        httprequest = request.httprequest
        if (httprequest.content_length or 0) > MAX_BODY:
            return (self._answer(413, "Payload Too Large"), *refused)
        try:
            body = self._body_payload(httprequest)
        except ValueError:
            _logger.info("SMS %s refused for account %s: malformed body", what, account.id)
            return (self._answer(400, "Bad Request"), *refused)
        query = httprequest.args.to_dict()
        if isinstance(body, dict):
            payload = {**query, **body}
        elif body is None:
            payload = query
        else:
            payload = body  # a JSON list or a raw body (XML) for the connector to read
        connector = Account._gateway_webhook_connector(found)  # no HTTP session: reading needs none
        signed_url = Account._gateway_webhook_url(found.token, route)
        if httprequest.query_string:
            signed_url = f"{signed_url}?{httprequest.query_string.decode('latin-1')}"
        headers = dict(httprequest.headers.items())
        signed_payload = body if isinstance(body, dict) else {}
        if not connector.check_signature(signed_url, signed_payload, headers):
            connector.close()
            _logger.info("SMS %s refused for account %s: bad signature", what, account.id)
            return (self._answer(403, "Forbidden"), *refused)
        return None, account, connector, payload, headers

    @staticmethod
    def _webhook_env():
        """The request's env as the public user, whoever the session's user is: what ``auth="public"`` gives a
        request without session user, without ``env.ref``'s query of the user (the xmlid is cached). The
        webhook works in sudo from the account its token names."""
        request.update_env(user=request.env["ir.model.data"]._xmlid_to_res_id("base.public_user"))

    @staticmethod
    def _body_payload(httprequest):
        """The request's data: a dict for form or JSON objects, a list for JSON arrays, the raw bytes for
        other bodies (XML), None without body. Raise ValueError when the body is not what it says it is."""
        content_type = (httprequest.mimetype or "").lower()
        if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            try:
                return httprequest.form.to_dict()
            except BadRequest as e:
                raise ValueError(str(e)) from None
        raw = httprequest.get_data(cache=True)
        if not raw.strip():
            return None
        if "json" in content_type or raw.lstrip()[:1] in (b"{", b"["):
            try:
                data = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                raise ValueError("invalid JSON") from None
            if not isinstance(data, (dict, list)):
                raise ValueError("JSON object or array expected")
            return data
        return raw

    @staticmethod
    def _answer(status, text):
        return request.make_response(text, headers=[("Content-Type", "text/plain; charset=utf-8")], status=status)
