"""Twilio Programmable Messaging connector (REST API 2010-04-01).

One ``POST /Accounts/{AccountSid}/Messages.json`` per message, HTTP Basic
``AccountSid:AuthToken``. The message goes out through the Messaging Service
(``service_id``) when one is configured, else from the ``sender`` number.
Delivery reports are POSTed by Twilio to the ``StatusCallback`` URL
(``dlr_url`` in the config) and signed with ``X-Twilio-Signature``. Crash
recovery asks the list-messages API (``GET .../Messages.json?To=...``).
"""

import base64
import email.utils
import hashlib
import hmac
import re
import urllib.parse
from datetime import datetime, timedelta, timezone

from .base import DeliveryReport, InboundSms, ProviderError, SendResult, SmsProvider, _lt, inbound_number, required
from .failures import FAILURE_ACCOUNT, FAILURE_CREDIT, FAILURE_NUMBER, FAILURE_SERVER

API_VERSION = "2010-04-01"

# What Twilio's error answers say (twilio.com/docs/api/errors/<code> and the Messages API reference):
# an error is JSON ``{code, message, more_info, status}``; a refused recipient is HTTP 400 with a message naming
# the 'To' number (21211 "The 'To' number ... is not a valid phone number.", 21614 "'To' number is not a valid
# mobile number", 21612 "... is not currently reachable via SMS", 21408 region, 21610 "unsubscribed recipient",
# 21608 unverified number on a trial account), a refused sender names the 'From' number (21212, 21606: the
# account's settings); bad credentials are HTTP 401, 20003 "Authenticate". Twilio has no "insufficient credit"
# error: an account whose balance reached $0 is suspended and every request gets 10001 "Account is not active"
# (20005 "Account not active": "ran out of funds"), HTTP status undocumented; 20429 "Too Many Requests" is HTTP
# 429. One recipient per request: a bad number never refuses another message.
# The words are read first (English, or French for a proxy that translates), then this code table; anything
# else is transient sms_server, except HTTP 401/403 (credentials refused).
TWILIO_ERRORS = {
    20003: FAILURE_ACCOUNT,  # Authenticate (wrong AccountSid / AuthToken)
    10001: FAILURE_CREDIT,  # Account is not active (suspended when the balance reached $0)
    20005: FAILURE_CREDIT,  # Account not active (ran out of funds)
    21211: FAILURE_NUMBER,  # Invalid 'To' phone number
    21408: FAILURE_NUMBER,  # Permission to send to this region not enabled
    21608: FAILURE_NUMBER,  # Unverified number (trial account)
    21610: FAILURE_NUMBER,  # Recipient unsubscribed (replied STOP)
    21612: FAILURE_NUMBER,  # Cannot route to this number
    21614: FAILURE_NUMBER,  # 'To' is not a valid mobile number
    21604: FAILURE_NUMBER,  # 'To' phone number is required
    21212: FAILURE_ACCOUNT,  # Invalid 'From' number (the account's sender)
    21606: FAILURE_ACCOUNT,  # 'From' is not a message-capable number of the account
    30002: FAILURE_ACCOUNT,  # Account suspended
    20429: FAILURE_SERVER,  # Too many requests
}
CREDIT_WORDS = re.compile(
    r"insufficient (credit|funds|balance)|out of (credit|funds)|not enough (credit|funds)|no (credit|funds) left"
    r"|balance (is )?(too low|exhausted|insufficient)|low balance|cr[ée]dit(s)? (insuffisant|[ée]puis)"
    r"|solde insuffisant|plus de cr[ée]dit|pas assez de cr[ée]dit",
    re.IGNORECASE,
)
INACTIVE_WORDS = re.compile(r"account (is )?not active|compte (n'est pas|non|in)actif", re.IGNORECASE)
SENDER_WORDS = re.compile(r"'from'|\bfrom (phone )?number|messaging ?service|exp[ée]diteur", re.IGNORECASE)
RECIPIENT_FIELD = re.compile(r"'to'|\bto (phone )?number|\bdestinataire", re.IGNORECASE)
RECIPIENT_WORDS = re.compile(
    r"recipient|destinat|unverified|unsubscribed"
    r"|num[ée]ro (de t[ée]l[ée]phone )?(invalide|incorrect|non valide)|invalid (phone|mobile) number",
    re.IGNORECASE,
)
AUTH_WORDS = re.compile(
    r"authenticat|credentials|auth token|identifiants|authentification|account (is )?suspended|compte suspendu",
    re.IGNORECASE,
)


def twilio_failure_type(code, text, status):
    """The failure type of a Twilio error: its words first, then its ``code``, then the HTTP ``status``."""
    if CREDIT_WORDS.search(text) or INACTIVE_WORDS.search(text):
        return FAILURE_CREDIT
    if RECIPIENT_FIELD.search(text):  # names the 'To' number (even beside the 'From' one: 21612)
        return FAILURE_NUMBER
    if SENDER_WORDS.search(text) or AUTH_WORDS.search(text):
        return FAILURE_ACCOUNT
    if RECIPIENT_WORDS.search(text):
        return FAILURE_NUMBER
    if code in TWILIO_ERRORS:
        return TWILIO_ERRORS[code]
    if status in (401, 403):
        return FAILURE_ACCOUNT
    return FAILURE_SERVER


# StatusCallback ``MessageStatus`` -> Odoo state.
TWILIO_STATUSES = {
    "accepted": "pending",
    "scheduled": "pending",
    "queued": "pending",
    "sending": "pending",
    "sent": "pending",  # handed to the carrier, not yet delivered
    "delivered": "sent",
    "read": "sent",
    "failed": "error",
    "undelivered": "error",
    "canceled": "error",
}
# Delivery ErrorCodes that mean the destination itself is wrong.
TWILIO_INVALID_DESTINATION = {"21211", "21612", "21614", "30005", "30006"}


def twilio_signature(auth_token, url, params):
    """X-Twilio-Signature of a form POST: base64(HMAC-SHA1(AuthToken, URL +
    every parameter name followed by its value(s), sorted by name))."""
    data = url
    for name in sorted(params):
        values = params[name]
        if isinstance(values, (list, tuple)):
            for value in sorted(str(v) for v in values):
                data += f"{name}{value}"
        else:
            data += f"{name}{values}"
    digest = hmac.new(auth_token.encode(), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _created_since(item, since):
    """Whether a listed message was created at or after ``since`` (kept when Twilio gives no date)."""
    try:
        created = email.utils.parsedate_to_datetime(item.get("date_created") or "")
    except (TypeError, ValueError):
        return True
    return created is None or created >= since


def _normalized_body(body):
    """A message body as Twilio lists it may differ in line endings only."""
    return str(body or "").replace("\r\n", "\n").strip()


def _url_variants(url):
    """The URL as given, and with the default port added or removed (Twilio
    signs the URL as configured, with or without ``:443``/``:80``)."""
    parts = urllib.parse.urlsplit(url)
    default_port = {"https": 443, "http": 80}.get(parts.scheme)
    variants = [url]
    if default_port and parts.hostname:
        host = parts.netloc.rsplit("@", 1)[-1]
        userinfo = parts.netloc[: -len(host)] if host != parts.netloc else ""
        if parts.port == default_port:
            netloc = userinfo + host.rsplit(":", 1)[0]
            variants.append(urllib.parse.urlunsplit(parts._replace(netloc=netloc)))
        elif parts.port is None:
            netloc = f"{userinfo}{host}:{default_port}"
            variants.append(urllib.parse.urlunsplit(parts._replace(netloc=netloc)))
    return variants


class TwilioProvider(SmsProvider, code="twilio", label="Twilio"):
    default_base_url = "https://api.twilio.com"
    has_balance = has_delivery_reports = has_lookup = has_inbound = True
    # Twilio reads the answer to an incoming message as TwiML: an empty Response sends no reply SMS
    inbound_answer = ('<?xml version="1.0" encoding="UTF-8"?><Response></Response>', "text/xml")
    credential_labels = {
        "username": required("Account SID"),
        "password": required("Auth Token"),
        "service_id": "Messaging Service SID",
        "sender": "From (phone number or alphanumeric sender ID)",
    }

    @property
    def account_sid(self):
        return (self.config.get("username") or "").strip()

    @property
    def auth_token(self):
        return (self.config.get("password") or "").strip()

    def _account_url(self, resource):
        sid = urllib.parse.quote(self.account_sid, safe="")
        return self._url(f"/{API_VERSION}/Accounts/{sid}/{resource}")

    def config_error(self):
        error = super().config_error()
        if not error and not (self.config.get("service_id") or self.config.get("sender")):
            error = str(_lt("Twilio: set a Messaging Service SID or a sender (From) number"))
        return error

    def _error(self, response):
        """(failure type, message) of an answer that is not a success."""
        data = self._json(response)
        if isinstance(data, dict) and ("code" in data or "message" in data):
            return self._classified(data.get("code"), data.get("message"), response)
        if response.status_code in (401, 403):
            return FAILURE_ACCOUNT, self._unexpected(response)
        return self._unexpected_failure(response)

    def _classified(self, code, text, response):
        """(failure type, message) of a Twilio error ``code`` with its ``text``."""
        try:
            code = int(code)
        except (TypeError, ValueError):
            code = None
        text = " ".join(str(text or "").split())
        message = f"{text} (Twilio error {code})" if code else text or self._http_error(response)
        failure_type = twilio_failure_type(code, text, response.status_code)
        if failure_type == FAILURE_CREDIT and not re.search(r"cr[ée]dit", message, re.IGNORECASE):
            message = str(
                _lt(
                    "%(error)s: Twilio suspends an account whose credit (balance) is used up; check its balance",
                    error=message,
                )
            )
        return failure_type, message

    # -- sending ------------------------------------------------------------
    def send_one(self, message):
        data = {"To": message.number, "Body": message.body}
        if self.config.get("service_id"):
            data["MessagingServiceSid"] = self.config["service_id"].strip()
        else:
            data["From"] = self.config["sender"].strip()
        if self.config.get("dlr_url"):
            data["StatusCallback"] = self.config["dlr_url"]
        response, error = self._request(
            "POST",
            self._account_url("Messages.json"),
            data=data,
            auth=(self.account_sid, self.auth_token),
            allow_redirects=False,
        )
        if error:
            return self.failed(message, error)
        if response.status_code not in (200, 201):
            failure_type, text = self._error(response)
            return self.failed(message, text, failure_type)
        body = self._json(response)
        sid = body.get("sid") if isinstance(body, dict) else None
        if not sid or not isinstance(sid, str):
            return self.failed(message, self._unexpected(response))
        if body.get("status") == "failed":
            code = body.get("error_code")
            failure_type, text = self._classified(
                code, body.get("error_message") or str(_lt("Twilio refused the message")), response
            )
            return SendResult(message.ref, provider_id=sid, failure_type=failure_type, error_message=text)
        return SendResult(message.ref, provider_id=sid)

    # -- account ------------------------------------------------------------
    def _get(self, url):
        """GET ``url`` with the account's credentials: ``(response, its JSON)``, or raise ProviderError when
        Twilio cannot be reached or refuses."""
        response, error = self._request("GET", url, auth=(self.account_sid, self.auth_token))
        if error:
            raise ProviderError(error)
        if response.status_code != 200:
            failure_type, message = self._error(response)
            raise ProviderError(message, failure_type)
        return response, self._json(response)

    def get_balance(self):
        self._check_credentials()
        response, data = self._get(self._account_url("Balance.json"))
        try:
            balance = float(data["balance"])
        except (TypeError, KeyError, ValueError):
            raise ProviderError(self._unexpected(response)) from None
        self.balance_currency = data.get("currency") or ""
        return balance

    def test_connection(self):
        balance = self.get_balance()
        return str(
            _lt("Connection OK. Balance: %(balance)s %(currency)s", balance=balance, currency=self.balance_currency)
        ).strip()

    # -- crash recovery -------------------------------------------------------
    def lookup(self, messages):
        """{ref: sid} for the messages Twilio has, {ref: False} for those it has not: one list call per
        message (``GET .../Messages.json?To=<number>``, outgoing messages of the same To and Body created in
        the window). No ``DateSent`` filter: a message Twilio accepted but has not sent yet has none, and it
        must be found. Raise ProviderError when Twilio cannot be asked or answers oddly (the SMS are then
        not resent, not guessed). ``twilio_lookup_days`` (default 1: since yesterday, UTC) sets how far back
        to look."""
        self._check_credentials()
        try:
            days = max(0, int(self.config.get("twilio_lookup_days", 1)))
        except (TypeError, ValueError):
            days = 1
        since = datetime.combine(
            (datetime.now(timezone.utc) - timedelta(days=days)).date(), datetime.min.time(), timezone.utc
        )
        found = {}
        for message in messages:
            sid = self._find_message(message, since)
            if sid is not None:
                found[message.ref] = sid
        return found

    def _find_message(self, message, since):
        """The sid of ``message`` at Twilio (created since ``since``), False when Twilio has no such message,
        None when it cannot tell (more pages than ``twilio_lookup_max_pages``)."""
        query = urllib.parse.urlencode({"To": message.number, "PageSize": 1000})
        url = f"{self._account_url('Messages.json')}?{query}"
        body = _normalized_body(message.body)
        for _page in range(int(self.config.get("twilio_lookup_max_pages") or 10)):
            response, data = self._get(url)
            page = data.get("messages") if isinstance(data, dict) else None
            if not isinstance(page, list):
                raise ProviderError(self._unexpected(response))
            for item in page:
                if (
                    isinstance(item, dict)
                    and item.get("sid")
                    and item.get("to") == message.number
                    and str(item.get("direction") or "outbound-api").startswith("outbound")
                    and _normalized_body(item.get("body")) == body
                    and _created_since(item, since)
                ):
                    return str(item["sid"])
            next_page = data.get("next_page_uri")
            if not next_page:
                return False
            url = self._url(next_page)
        return None

    # -- delivery reports -----------------------------------------------------
    def parse_delivery_report(self, payload, headers=None):
        payload = payload if isinstance(payload, dict) else {}
        sid = str(payload.get("MessageSid") or payload.get("SmsSid") or "").strip()
        status = str(payload.get("MessageStatus") or payload.get("SmsStatus") or "").strip().lower()
        if not sid or status not in TWILIO_STATUSES:
            raise ValueError(f"Twilio status callback: missing or unknown MessageSid/MessageStatus in {payload!r}")
        state = TWILIO_STATUSES[status]
        error_code = str(payload.get("ErrorCode") or "").strip()
        extra = {k: payload[k] for k in ("ErrorCode", "To", "AccountSid", "MessagingServiceSid") if payload.get(k)}
        if state != "error":
            return [DeliveryReport(sid, state, extra=extra)]
        failure_type = "sms_invalid_destination" if error_code in TWILIO_INVALID_DESTINATION else "sms_not_delivered"
        message = f"Twilio {status}" + (f" (error {error_code})" if error_code else "")
        return [DeliveryReport(sid, "error", failure_type, message, extra)]

    def check_signature(self, url, payload, headers=None):
        """Check ``X-Twilio-Signature`` of a status callback POSTed to ``url``
        (the full public URL, query string included) with form ``payload``."""
        headers = {str(k).lower(): v for k, v in (headers or {}).items()}
        signature = (headers.get("x-twilio-signature") or "").strip()
        if not signature or not self.auth_token or not isinstance(payload, dict):
            return False
        return any(
            hmac.compare_digest(twilio_signature(self.auth_token, variant, payload).encode(), signature.encode())
            for variant in _url_variants(url)
        )

    # -- incoming messages ----------------------------------------------------
    def parse_inbound(self, payload, headers=None):
        """The incoming message webhook (form): ``MessageSid``, ``From``, ``To``, ``Body``, ``AccountSid``;
        with Advanced Opt-Out, ``OptOutType`` (``STOP``, ``START``, ``HELP``) says Twilio itself read an
        opt-out or opt-in keyword."""
        payload = payload if isinstance(payload, dict) else {}
        sid = str(payload.get("MessageSid") or payload.get("SmsSid") or "").strip()
        number = inbound_number(payload.get("From"))
        if not sid or not number or "Body" not in payload:
            raise ValueError("Twilio incoming message: MessageSid, From or Body missing")
        account_sid = str(payload.get("AccountSid") or "").strip()
        if account_sid and self.account_sid and account_sid != self.account_sid:
            raise ValueError("Twilio incoming message for another Twilio account")
        kind = {"STOP": "unsubscribe", "START": "start"}.get(str(payload.get("OptOutType") or "").strip().upper())
        return [InboundSms(number, str(payload.get("Body") or ""), sid, kind, to=payload.get("To"))]
