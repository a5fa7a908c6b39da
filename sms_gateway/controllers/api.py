"""The JSON API other applications send SMS with: ``/sms_gateway/api/v1/`` (described by ``openapi.py``).

Authentication: ``Authorization: Bearer <key>``, an Odoo API key of the application's user with the scope
``sms_gateway_api`` (so it opens this API and nothing else: not XML-RPC, not a browser session). Every answer
is JSON, errors ``{"error": {"code", "message"}}`` in the key user's language. Nothing is sent here: SMS are
queued through the normal creation path and the dispatch cron sends them.
"""

import hashlib
import json
import logging
import re
import threading
import time
from collections import OrderedDict
from datetime import UTC, datetime

from werkzeug.exceptions import RequestEntityTooLarge

from odoo import api, http
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.http import request

from odoo.addons.base.models.res_users import INDEX_SIZE, KEY_CRYPT_CONTEXT

from ..models.sms_gateway_application import API_KEY_SCOPE
from ..models.sms_gateway_callback import check_callback_url
from ..tools.api_errors import ApiError
from .openapi import openapi_document

_logger = logging.getLogger(__name__)

API = "/sms_gateway/api/v1"
MAX_BODY = 2 * 1024 * 1024  # 10,000 recipients and a long text fit in well under this
MAX_RECIPIENTS = 10000
MAX_TEXT = 1600
MAX_LIST = 1000
# read/write: the rate limit and the idempotency keys write, even on GET
ROUTE = {"type": "http", "auth": "none", "csrf": False, "save_session": False, "readonly": False}
SEND_FIELDS = {"recipients", "text", "sender", "reference", "send_at", "callback_url", "company_id"}
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")

# sha256(key) -> id of the res.users.apikeys row it matched: the expensive hash check runs once per key and
# process; the row (revoked = deleted, expired, user archived) is still checked on every request
_verified_keys = OrderedDict()
_verified_keys_lock = threading.Lock()
VERIFIED_KEYS_MAX = 1000


class SmsGatewayApi(http.Controller):
    # ------------------------------------------------------------------
    # Endpoints
    # ------------------------------------------------------------------
    @http.route(f"{API}/messages", methods=["GET", "POST"], **ROUTE)
    def api_messages(self, **kwargs):
        if request.httprequest.method == "POST":
            return self._serve(self._post_messages, write=True)
        return self._serve(self._list_messages)

    @http.route(f"{API}/messages/<string:message_id>", methods=["GET", "DELETE"], **ROUTE)
    def api_message(self, message_id, **kwargs):
        if request.httprequest.method == "DELETE":
            return self._serve(lambda app, company: self._cancel_message(app, company, message_id), write=True)
        return self._serve(lambda app, company: self._get_message(app, company, message_id))

    @http.route(f"{API}/balance", methods=["GET"], **ROUTE)
    def api_balance(self, **kwargs):
        return self._serve(self._balance)

    @http.route(f"{API}/openapi.json", methods=["GET"], **ROUTE)
    def api_openapi(self, **kwargs):
        base_url = request.httprequest.host_url.rstrip("/")
        return self._json(200, openapi_document(f"{base_url}{API}"))

    @http.route([API, f"{API}/<path:rest>"], methods=["GET", "POST", "PUT", "PATCH", "DELETE"], **ROUTE)
    def api_not_found(self, **kwargs):
        return self._json(404, ApiError(404, "not_found", request.env._("No such endpoint.")).to_json())

    # ------------------------------------------------------------------
    # The handlers (``application`` and ``company`` checked, env = the key's user)
    # ------------------------------------------------------------------
    def _post_messages(self, application, company):
        payload = self._read_json_body()
        self._validate_send(payload)
        key = request.httprequest.headers.get("Idempotency-Key")
        if key is not None and not IDEMPOTENCY_KEY.match(key):
            raise ApiError(
                400,
                "invalid_idempotency_key",
                request.env._("The Idempotency-Key header must be 1 to 255 printable ASCII characters."),
            )
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        request_hash = hashlib.sha256(f"POST {API}/messages {company.id} {canonical}".encode()).hexdigest()

        def send(env):
            Request = env["sms.gateway.api.request"].sudo()
            if key is not None:
                earlier = Request._claim(application.id, key, request_hash)
                if earlier:
                    earlier_hash, status, body = earlier
                    if earlier_hash != request_hash:
                        raise ApiError(
                            409,
                            "idempotency_conflict",
                            env._("This Idempotency-Key was already used with another request body."),
                        )
                    return status, body, {"Idempotent-Replayed": "true"}
            body = env["sms.sms"]._api_send(
                application.with_env(env).sudo(), company.with_env(env), self._send_values(payload)
            )
            if key is not None:
                Request._store_answer(application.id, key, 201, body)
            return 201, body, {}

        status, body, headers = self._in_own_transaction(send)
        return self._json(status, body, headers)

    def _list_messages(self, application, company):
        args = request.httprequest.args
        if any("\x00" in value for value in args.values()):
            raise ApiError(422, "invalid_field", request.env._("Parameters cannot contain NUL characters."))
        domain = [("application_id", "=", application.id), ("company_id", "=", company.id)]
        if args.get("reference"):
            domain.append(("api_reference", "=", args["reference"]))
        if args.get("since"):
            domain.append(("create_date", ">=", self._parse_datetime(args["since"], "since")))
        limit = self._parse_int(args.get("limit", 100), "limit", 1, MAX_LIST)
        offset = self._parse_int(args.get("offset", 0), "offset", 0, 10**9)
        messages = request.env["sms.sms"].search(domain, limit=limit, offset=offset, order="id")
        return self._json(200, {"messages": messages._api_json(), "limit": limit, "offset": offset})

    def _find_message(self, application, company, message_id):
        """The caller's own SMS (its application's, readable by its user) or a 404: another application's
        SMS looks exactly like one that does not exist."""
        sms = request.env["sms.sms"]
        if message_id.isdigit() and len(message_id) < 12:
            sms = sms.search([("id", "=", int(message_id)), ("application_id", "=", application.id)])
        if not sms:
            raise ApiError(404, "not_found", request.env._("No such message."))
        return sms

    def _get_message(self, application, company, message_id):
        sms = self._find_message(application, company, message_id)
        return self._json(200, sms._api_json()[0])

    def _cancel_message(self, application, company, message_id):
        sms_id = self._find_message(application, company, message_id).id

        def cancel(env):
            sms = env["sms.sms"].browse(sms_id)
            sms._api_cancel()
            return sms._api_json()[0]

        return self._json(200, self._in_own_transaction(cancel))

    def _balance(self, application, company):
        balances, reserved = request.env["sms.credit.move"]._balances(company)
        return self._json(
            200,
            {
                "company_id": company.id,
                "company": company.name,
                "balance": balances.get(company, 0),
                "reserved": reserved.get(company, 0),
                "quota_left": application._api_quota_left(company),
            },
        )

    # ------------------------------------------------------------------
    # Input
    # ------------------------------------------------------------------
    def _read_json_body(self):
        """The JSON object of the body; a body over MAX_BODY is refused before it is read."""
        raw = self._raw_body()
        try:
            payload = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "malformed", request.env._("The body is not valid JSON.")) from None
        if not isinstance(payload, dict):
            raise ApiError(400, "malformed", request.env._("The body must be a JSON object."))
        return payload

    def _validate_send(self, payload):
        _ = request.env._

        def invalid(field, message):
            raise ApiError(422, "invalid_field", message, details={"field": field})

        if _has_nul(payload):
            raise ApiError(422, "invalid_field", _("Fields cannot contain NUL characters."))
        unknown = sorted(set(payload) - SEND_FIELDS)
        if unknown:
            invalid(unknown[0], _("Unknown field: %(field)s.", field=unknown[0]))
        recipients = payload.get("recipients")
        if isinstance(recipients, list) and len(recipients) > MAX_RECIPIENTS:
            raise ApiError(
                413,
                "too_many_recipients",
                _("At most %(max)s recipients per request.", max=MAX_RECIPIENTS),
            )
        if (
            not isinstance(recipients, list)
            or not recipients
            or not all(isinstance(r, str) and 0 < len(r) <= 64 for r in recipients)
        ):
            invalid("recipients", _("recipients must be a list of 1 to 10,000 phone numbers."))
        text = payload.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
            invalid("text", _("text must be a non-empty string of at most %(max)s characters.", max=MAX_TEXT))
        for field, size in (("sender", 11), ("reference", 255), ("callback_url", 2048)):
            value = payload.get(field)
            if value is not None and (not isinstance(value, str) or not value.strip() or len(value) > size):
                invalid(field, _("%(field)s must be a string of at most %(max)s characters.", field=field, max=size))
        if payload.get("send_at") is not None:
            if not isinstance(payload["send_at"], str):
                invalid("send_at", _("send_at must be a date and time (ISO 8601)."))
            self._parse_datetime(payload["send_at"], "send_at")
        if payload.get("callback_url") is not None:
            allow_private = request.env["sms.gateway.callback"].sudo()._allow_private()
            refused = check_callback_url(payload["callback_url"], allow_private)
            if refused:
                invalid("callback_url", refused)

    @staticmethod
    def _send_values(payload):
        values = dict(payload)
        if values.get("send_at"):
            send_at = SmsGatewayApi._parse_datetime(values["send_at"], "send_at")
            values["send_at"] = send_at if send_at > datetime.now(UTC).replace(tzinfo=None) else None
        return values

    @staticmethod
    def _parse_datetime(value, field):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except (ValueError, AttributeError):
            raise ApiError(
                422,
                "invalid_field",
                request.env._("%(field)s must be a date and time (ISO 8601).", field=field),
                details={"field": field},
            ) from None
        if moment.tzinfo:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        return moment

    @staticmethod
    def _parse_int(value, field, low, high):
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = None
        if number is None or not low <= number <= high:
            raise ApiError(
                422,
                "invalid_field",
                request.env._("%(field)s must be a number from %(low)s to %(high)s.", field=field, low=low, high=high),
                details={"field": field},
            )
        return number

    # ------------------------------------------------------------------
    # Authentication, rights, rate limit, answers
    # ------------------------------------------------------------------
    def _serve(self, handler, write=False):
        try:
            application, company = self._authenticate()
            return handler(application, company)
        except ApiError as error:
            if error.status >= 500:
                _logger.error("SMS API error: %s", error.code)
            return self._json(error.status, error.to_json(), error.headers)
        except AccessError as error:
            return self._json(403, ApiError(403, "forbidden", str(error)).to_json())
        except (UserError, ValidationError) as error:
            return self._json(422, ApiError(422, "invalid", str(error)).to_json())
        except Exception:
            _logger.exception("SMS API: unexpected error")
            message = request.env._("The server could not handle this request; nothing was sent.")
            return self._json(500, ApiError(500, "internal_error", message).to_json())

    def _authenticate(self):
        """The application of the bearer key and the company the request works for; the request's
        environment becomes the key user's, in their language."""
        _ = request.env._
        header = request.httprequest.headers.get("Authorization", "")
        match = re.match(r"^bearer\s+(\S+)$", header, re.IGNORECASE)
        if not match:
            raise ApiError(
                401,
                "unauthorized",
                _("Missing API key: send it as 'Authorization: Bearer <key>'."),
                headers={"WWW-Authenticate": "Bearer"},
            )
        row = self._check_key(match.group(1))
        if not row:
            raise ApiError(
                401, "unauthorized", _("Invalid, expired or revoked API key."), headers={"WWW-Authenticate": "Bearer"}
            )
        application_id, user_id, rate_limit, company_id, company_ids, lang, tz = row
        context = dict(request.env.context, lang=lang or request.env.context.get("lang"), tz=tz)
        request.update_env(user=user_id, context=context)
        _ = request.env._
        user = request.env.user
        if not user.has_group("sms_gateway.group_sms_user"):  # cached per user
            raise ApiError(
                403,
                "not_sms_user",
                _("The user of this key (%(user)s) is not an SMS user.", user=user.sudo().name),
            )
        if rate_limit:
            self._check_rate(application_id, rate_limit)
        company_id = self._company_id(company_id, company_ids)
        request.update_env(context=dict(request.env.context, allowed_company_ids=[company_id]))
        application = request.env["sms.gateway.application"].sudo().browse(application_id)
        return application, request.env["res.company"].browse(company_id)

    def _check_key(self, token):
        """(application id, user id, rate limit, application's company id, user's company ids, language, time
        zone) of the API key ``token`` when it is valid now, else None."""
        cr = request.env.cr
        digest = hashlib.sha256(token.encode()).digest()
        with _verified_keys_lock:
            key_id = _verified_keys.get(digest)
        if key_id is None:
            cr.execute(
                "SELECT id, key FROM res_users_apikeys WHERE index = %s AND scope = %s",
                (token[:INDEX_SIZE], API_KEY_SCOPE),
            )
            key_id = next((kid for kid, hashed in cr.fetchall() if KEY_CRYPT_CONTEXT.verify(token, hashed)), None)
            if key_id is None:
                return None
            with _verified_keys_lock:
                _verified_keys[digest] = key_id
                while len(_verified_keys) > VERIFIED_KEYS_MAX:
                    _verified_keys.popitem(last=False)
        # everything the request needs of the key, its user and application, in one query
        cr.execute(
            """SELECT a.id, k.user_id, a.rate_limit, a.company_id,
                      ARRAY(SELECT cid FROM res_company_users_rel WHERE user_id = k.user_id), p.lang, p.tz
                 FROM res_users_apikeys k
                 JOIN res_users u ON u.id = k.user_id
                 JOIN res_partner p ON p.id = u.partner_id
                 JOIN sms_gateway_application a ON a.apikey_id = k.id
                WHERE k.id = %s AND k.scope = %s AND u.active AND a.active AND a.user_id = k.user_id
                  AND (k.expiration_date IS NULL OR k.expiration_date >= now() at time zone 'utc')""",
            (key_id, API_KEY_SCOPE),
        )
        row = cr.fetchone()
        if row is None:
            with _verified_keys_lock:
                _verified_keys.pop(digest, None)
        return row

    def _company_id(self, default_id, allowed_ids):
        """The company named in the request (``company_id``) when the user may work for it, else the
        application's."""
        _ = request.env._
        named = request.httprequest.args.get("company_id")
        if named is None and request.httprequest.method == "POST":
            named = self._peek_body_company()
        company_id = default_id
        if named is not None:
            if isinstance(named, str) and named.isdigit() and len(named) < 10:
                named = int(named)
            if not isinstance(named, int) or isinstance(named, bool) or not 0 < named < 2**31:
                raise ApiError(
                    422, "invalid_field", _("company_id must be a company id."), details={"field": "company_id"}
                )
            company_id = named
        if company_id not in allowed_ids:
            raise ApiError(403, "company_not_allowed", _("This key may not send for this company."))
        return company_id

    @staticmethod
    def _raw_body():
        """The body, refused (413) over MAX_BODY before it is read, by its length or while it is read."""
        httprequest = request.httprequest
        too_large = ApiError(413, "body_too_large", request.env._("The request body is too large."))
        if (httprequest.content_length or 0) > MAX_BODY:
            raise too_large
        httprequest.max_content_length = MAX_BODY
        try:
            return httprequest.get_data(cache=True)
        except RequestEntityTooLarge:
            raise too_large from None

    def _peek_body_company(self):
        try:
            payload = json.loads(self._raw_body())
        except (ValueError, UnicodeDecodeError):
            return None  # said by _read_json_body, after authentication
        return payload.get("company_id") if isinstance(payload, dict) else None

    def _check_rate(self, application_id, limit):
        """A fixed window of one minute per application, counted in its own short transaction so that
        concurrent requests do not wait on each other's whole request."""
        minute = int(time.time() // 60)

        def count(env):
            env.cr.execute(
                """UPDATE sms_gateway_application
                      SET rate_count = CASE WHEN rate_minute = %s THEN rate_count + 1 ELSE 1 END, rate_minute = %s
                    WHERE id = %s RETURNING rate_count""",
                (minute, minute, application_id),
            )
            return env.cr.fetchone()[0]

        if self._in_own_transaction(count) > limit:
            retry_after = str(max(1, 60 - int(time.time()) % 60))
            raise ApiError(
                429,
                "rate_limited",
                request.env._("Too many requests: at most %(limit)s per minute.", limit=limit),
                headers={"Retry-After": retry_after},
            )

    @staticmethod
    def _in_own_transaction(work):
        """Run ``work(env)`` in a transaction of its own, committed at once, in READ COMMITTED: the request's
        transaction started long before (authentication) and, in REPEATABLE READ, taking the company's credit
        lock after a concurrent request committed would fail and be retried whole (with Odoo's sleeps), so
        concurrent senders would mostly wait. The credit lock is still taken, its balance read after it."""
        registry = request.env.registry
        if registry.in_test_mode():
            # tests: the server shares the test's transaction; a savepoint gives the same all-or-nothing, an
            # empty cache the same reads (and access checks) as a fresh transaction
            request.env.flush_all()
            request.env.invalidate_all()
            with request.env.cr.savepoint():
                return work(request.env)
        with registry.cursor() as cr:
            cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
            return work(api.Environment(cr, request.env.uid, request.env.context))

    @staticmethod
    def _json(status, body, headers=None):
        headers = [("Cache-Control", "no-store"), *(headers or {}).items()]
        return request.make_json_response(body, headers=headers, status=status)


def _has_nul(value):
    """PostgreSQL refuses NUL characters in text: find them in a JSON value before the database does."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False
