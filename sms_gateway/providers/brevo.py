"""Brevo (formerly Sendinblue) transactional SMS connector.

``POST /v3/transactionalSMS/send`` with the ``api-key`` header, one
recipient per call; the answer's ``messageId`` is the provider id, which the
delivery webhook (``webUrl``) sends back with ``msg_status``.

Each SMS carries our reference as one of its tags (``tag`` is an array of up to 10 strings since Brevo's
2024-02-06 changelog): a send whose answer was lost is looked up in the SMS events
(``GET /v3/transactionalSMS/statistics/events?phoneNumber=&tags=``), which carry the ``messageId``.
"""

import json
import re

from .base import (
    NOT_AN_ID,
    DeliveryReport,
    InboundSms,
    ProviderError,
    SendResult,
    SmsProvider,
    _lt,
    credit_message,
    inbound_number,
    plain_words,
    required,
)
from .failures import FAILURE_ACCOUNT, FAILURE_CREDIT, FAILURE_NUMBER, FAILURE_SERVER

# What Brevo documents (developers.brevo.com "Key concepts" and the v3 OpenAPI spec, as its SDKs publish it:
# sendinblue/APIv3-*-library, TransactionalSMSApi): every error is JSON ``{code, message}``; the codes are
# invalid_parameter, missing_parameter, out_of_range, not_enough_credits, unauthorized, permission_denied,
# reseller_permission_denied, account_under_validation, bad_request...; the SMS send answers 400 "bad request"
# (a recipient that is not 6-15 digits with its country code is an ``invalid_parameter`` whose message names
# the recipient) and 402 "You don't have enough credit to send your SMS"; a wrong key is 401 ``unauthorized``.
# One recipient per call: no batch can be refused for one number. ``not_enough_credits`` is also seen with
# HTTP 400 in the wild, so the words and the code are read before the status.
# The words of ``message`` come first (English or French), then the code table, then the HTTP status.
BREVO_CREDIT_WORDS = re.compile(
    r"credit|insufficient (funds|balance)|balance (is )?too low|too low balance|solde insuffisant", re.IGNORECASE
)
BREVO_ACCOUNT_WORDS = re.compile(
    r"unauthori[sz]ed|key not found|invalid (api[ -]?)?key|api[ -]?key (is )?(invalid|missing|not found)"
    r"|under validation|suspend|deactivated|disabled account|account (is )?(blocked|expired)|cle (d'api )?invalide"
    r"|compte (suspendu|bloque|desactive|en cours de validation)|authenti",
    re.IGNORECASE,
)
BREVO_RECIPIENT_WORDS = re.compile(
    r"recipient|mobile|phone|msisdn|\bnumber\b|destinataire|numero|telephone", re.IGNORECASE
)
BREVO_NOT_RECIPIENT_WORDS = re.compile(r"sender|expediteur|emetteur|originator", re.IGNORECASE)
# Error ``code`` -> failure type, read after the words; the HTTP status decides when the code is unknown.
BREVO_ERROR_CODES = {
    "not_enough_credits": FAILURE_CREDIT,
    "unauthorized": FAILURE_ACCOUNT,
    "permission_denied": FAILURE_ACCOUNT,
    "account_under_validation": FAILURE_ACCOUNT,
}
BREVO_ERROR_STATUSES = {401: FAILURE_ACCOUNT, 402: FAILURE_CREDIT, 403: FAILURE_ACCOUNT}
# Codes about the request's values: their words may name the recipient (then the number is refused).
BREVO_PARAMETER_CODES = {"invalid_parameter", "missing_parameter", "out_of_range", "bad_request", ""}


def brevo_failure_type(status, code, words):
    """The failure type of a Brevo error answer: its words first, then its code, then its HTTP status."""
    plain = plain_words(words)
    if BREVO_CREDIT_WORDS.search(plain):
        return FAILURE_CREDIT
    if BREVO_ACCOUNT_WORDS.search(plain):
        return FAILURE_ACCOUNT
    if code in BREVO_ERROR_CODES:
        return BREVO_ERROR_CODES[code]
    if (
        code in BREVO_PARAMETER_CODES
        and BREVO_RECIPIENT_WORDS.search(plain)
        and not BREVO_NOT_RECIPIENT_WORDS.search(plain)
    ):
        return FAILURE_NUMBER  # final: the same number would be refused again
    return BREVO_ERROR_STATUSES.get(status) or FAILURE_SERVER


def _message_id(data):
    """The ``messageId`` of a send answer (an integer, or a token of letters, digits, dashes), or None."""
    value = data.get("messageId") if isinstance(data, dict) else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", value.strip()):
        if value.strip().upper() not in NOT_AN_ID:
            return value.strip()
    return None


# Webhook ``msg_status`` -> (Odoo state, delivery failure type).
BREVO_DLR_STATUSES = {
    "delivered": ("sent", None),
    **dict.fromkeys(("sent", "accepted", "buffered", "queued"), ("pending", None)),
    **dict.fromkeys(("soft_bounce", "soft_bounced"), ("error", "sms_not_delivered")),
    **dict.fromkeys(("hard_bounce", "hard_bounced"), ("error", "sms_invalid_destination")),
    "rejected": ("error", "sms_rejected"),
    **dict.fromkeys(("blocked", "blacklisted", "skip"), ("error", "sms_not_allowed")),
    "expired": ("error", "sms_expired"),
}
# Events of the same webhook that say nothing about delivery.
BREVO_IGNORED_EVENTS = {"replied", "reply", "unsubscribed", "unsubscribe", "subscribe", "subscribed"}
# The SMS events that come from the phone (the inbound URL's): the kind of InboundSms they make (None: a reply,
# read for keywords).
BREVO_INBOUND_EVENTS = {
    **dict.fromkeys(("replied", "reply"), None),
    **dict.fromkeys(("unsubscribed", "unsubscribe"), "unsubscribe"),
    **dict.fromkeys(("subscribe", "subscribed"), "start"),
}


def reference_tag(ref):
    """The Brevo tag that names our message ``ref`` (looked up in the events when its answer was lost)."""
    return f"odoo-sms-{ref}"


def _event_tags(value):
    """The tags of an SMS event: Brevo gives one string, a list, or several joined by commas."""
    if isinstance(value, list):
        return {str(tag).strip() for tag in value}
    return {tag.strip() for tag in str(value or "").split(",")}


class BrevoProvider(SmsProvider, code="brevo", label="Brevo (transactional SMS)"):
    default_base_url = "https://api.brevo.com/v3"
    has_balance = has_delivery_reports = has_lookup = has_inbound = True
    lookup_days = 7
    """How far back (days, today included) the events of a lost send are searched."""
    credential_labels = {"api_key": required("API key (v3)"), "sender": "Sender"}
    account_fields = {"sms_type": "brevo_sms_type"}

    def _headers(self):
        return {
            "api-key": self.config.get("api_key") or "",
            "Accept": "application/json",
            "Content-Type": "application/json; charset=utf-8",
        }

    def _error(self, response, data):
        """(failure type, message) for a non-2xx answer."""
        if response.status_code == 429:
            message = str(_lt("Provider rate limit reached (HTTP 429)"))
            words = (data or {}).get("message") if isinstance(data, dict) else None
            return FAILURE_SERVER, f"{message}: {str(words).strip()}" if words else message
        if not isinstance(data, dict) or not (data.get("code") or data.get("message")):
            if response.status_code >= 500 or not (response.text or "").strip():
                return FAILURE_SERVER, self._http_error(response)
            return self._unexpected_failure(response)  # not Brevo's JSON (a proxy's page...): a refusal, retried
        code = str(data.get("code") or "").strip()
        words = " ".join(str(data.get("message") or "").split())
        message = f"{words} ({code})" if words and code else (words or code)
        return brevo_failure_type(response.status_code, code, words), message

    def send_one(self, message):
        payload = {
            "recipient": message.number.lstrip("+"),
            "content": message.body,
            "type": self.config.get("sms_type") or "transactional",
            "unicodeEnabled": bool(message.unicode),
        }
        if self.config.get("sender"):
            payload["sender"] = self.config["sender"]
        if self.config.get("dlr_url"):
            payload["webUrl"] = self.config["dlr_url"]
        # the account's own tag (its reports) and ours, to find the message again (lookup)
        payload["tag"] = [tag for tag in (self.config.get("tag"), reference_tag(message.ref)) if tag]
        response, error = self._request(
            "POST",
            self._url("transactionalSMS/send"),
            data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            headers=self._headers(),
        )
        if error:
            return self.failed(message, error)
        data = self._json(response)
        if response.status_code not in (200, 201):
            failure_type, error_message = self._error(response, data)
            if failure_type == FAILURE_CREDIT:
                error_message = credit_message(error_message)
            return self.failed(message, error_message, failure_type)
        provider_id = _message_id(data)
        if provider_id is None:  # a 2xx we cannot read (a plain "KO" included): it may have been taken
            return self.failed(message, self._unexpected(response))
        return SendResult(message.ref, provider_id=provider_id)

    def lookup(self, messages):
        """{ref: messageId} for the messages Brevo has an event of (sent, accepted, delivered, bounced...: it
        took them), found by their number and our reference tag. Brevo records events asynchronously, so
        no event is never proof that it did not take a message: those are left unknown (never resent).
        Raise ProviderError when Brevo cannot be asked."""
        self._check_credentials()
        found = {}
        for message in messages:
            tag = reference_tag(message.ref)
            number = message.number.lstrip("+")
            params = {"phoneNumber": number, "tags": tag, "days": self.lookup_days, "limit": 100}
            response, error = self._request(
                "GET", self._url("transactionalSMS/statistics/events"), params=params, headers=self._headers()
            )
            if error:
                raise ProviderError(error)
            data = self._json(response)
            if response.status_code != 200:
                failure_type, text = self._error(response, data)
                raise ProviderError(text, failure_type)
            events = data.get("events", []) if isinstance(data, dict) else None
            if not isinstance(events, list):
                raise ProviderError(self._unexpected(response))
            for event in events:
                if not isinstance(event, dict) or tag not in _event_tags(event.get("tag")):
                    continue
                if str(event.get("phoneNumber") or "").lstrip("+") not in ("", number):
                    continue
                provider_id = _message_id(event)
                if provider_id:
                    found[message.ref] = provider_id
                    break
        return found

    def get_balance(self):
        response, error = self._request("GET", self._url("account"), headers=self._headers())
        if error:
            raise ProviderError(error)
        data = self._json(response)
        if response.status_code != 200:
            failure_type, message = self._error(response, data)
            raise ProviderError(message, failure_type)
        plans = data.get("plan") if isinstance(data, dict) else None
        if not isinstance(plans, list):
            raise ProviderError(self._unexpected(response))
        for plan in plans:
            if isinstance(plan, dict) and plan.get("type") == "sms":
                try:
                    return float(plan.get("credits") or 0)
                except (TypeError, ValueError):
                    raise ProviderError(self._unexpected(response)) from None
        return 0.0  # no SMS plan: no SMS credit

    def parse_delivery_report(self, payload, headers=None):
        """Parse one ``webUrl`` event (JSON): ``messageId`` and ``msg_status``."""
        if not isinstance(payload, dict):
            raise ValueError("Brevo SMS webhook: expected a JSON object")
        message_id = payload.get("messageId")
        status = str(payload.get("msg_status") or payload.get("event") or "").strip().lower()
        status = re.sub(r"[\s-]+", "_", status)
        if message_id in (None, "") or not status:
            raise ValueError(f"Brevo SMS webhook: messageId or msg_status missing in {payload!r}")
        if status in BREVO_IGNORED_EVENTS:
            return []
        if status not in BREVO_DLR_STATUSES:
            raise ValueError(f"Brevo SMS webhook: unknown msg_status {status!r}")
        state, failure_type = BREVO_DLR_STATUSES[status]
        extra = {k: payload[k] for k in ("to", "sms_count", "credits_used", "date", "reference") if k in payload}
        error_message = status.replace("_", " ") if state == "error" else None
        return [DeliveryReport(str(message_id), state, failure_type, error_message, extra)]

    def parse_inbound(self, payload, headers=None):
        """A transactional SMS webhook event from the phone (JSON): ``msg_status`` ``replied`` (the text in
        ``reply``), ``unsubscribed`` or ``subscribe``, with ``to`` (the phone that answered), ``messageId``
        (the SMS it answers) and ``date``. Delivery events sent to this URL are left to the delivery report
        URL (ignored here)."""
        if not isinstance(payload, dict):
            raise ValueError("Brevo SMS webhook: expected a JSON object")
        status = str(payload.get("msg_status") or payload.get("event") or "").strip().lower()
        status = re.sub(r"[\s-]+", "_", status)
        if status in BREVO_DLR_STATUSES:
            return []
        if status not in BREVO_INBOUND_EVENTS:
            raise ValueError(f"Brevo SMS webhook: unknown msg_status {status!r}")
        number = inbound_number(payload.get("to") or payload.get("from"))
        message_id = str(payload.get("messageId") or "").strip()
        if not number or not message_id:
            raise ValueError("Brevo SMS webhook: to or messageId missing")
        text = payload.get("reply") or payload.get("text") or payload.get("message") or ""
        # Brevo gives the event no id of its own: the SMS, the event and its date name it
        event_id = f"{message_id}:{status}:{payload.get('date') or ''}"
        return [
            InboundSms(
                number,
                str(text),
                event_id,
                BREVO_INBOUND_EVENTS[status],
                reply_to_provider_id=message_id,
                date=payload.get("date"),
            )
        ]
