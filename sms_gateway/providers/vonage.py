"""Vonage (formerly Nexmo) SMS API connector.

``POST /sms/json`` form ``api_key``, ``api_secret``, ``from``, ``to`` (E.164
without the leading ``+``), ``text`` and ``type=unicode`` for UCS-2 messages;
one recipient per call. The answer is HTTP 200 JSON even for errors:
``{"message-count": "1", "messages": [{"to", "message-id", "status",
"remaining-balance", "message-price", "network", "error-text"}]}`` with one
entry per part of a long message; ``status`` "0" is accepted. The id of the
first part is the message's provider id (delivery receipts of the other parts
are ignored).
"""

import re

from .base import (
    DeliveryReport,
    InboundSms,
    ProviderError,
    SendResult,
    SmsProvider,
    _lt,
    credit_message,
    inbound_number,
    required,
)
from .failures import FAILURE_ACCOUNT, FAILURE_CREDIT, FAILURE_NUMBER, FAILURE_SERVER, FAILURE_UNCERTAIN

# Vonage's documented answers (developer.vonage.com/api-errors/sms and /messaging/sms/guides/troubleshooting-sms):
# always HTTP 200, one ``messages[]`` entry per part with ``status`` and ``error-text``. 1 Throttled, 2 Missing
# Parameters, 3 Invalid Parameters ("The value of one or more parameters is invalid": the words say which, e.g.
# "Invalid to address"), 4 Invalid Credentials, 5 Internal Error, 6 Invalid Message ("an un-recognized number
# prefix"), 7 Number Barred ("the number you are trying to send messages to is blacklisted"), 8 Partner Account
# Barred ("your Vonage account has been suspended"), 9 Partner Quota Violation ("You do not have sufficient credit
# to send the message", error-text "Quota Exceeded - rejected"), 15 Invalid Sender Address, 29 Non-Whitelisted
# Destination, 33 Number De-activated. One recipient per request: a bad number never refuses another message.
# The error-text is read first (English or French words), then this status table (anything else: sms_server).
VONAGE_ERRORS = {
    "1": FAILURE_SERVER,  # Throttled
    "2": FAILURE_SERVER,  # Missing parameters (refined by the words when they name the recipient)
    "3": FAILURE_SERVER,  # Invalid parameters (refined by the words when they name the recipient)
    "4": FAILURE_ACCOUNT,  # Invalid credentials
    "5": FAILURE_SERVER,  # Internal error
    "6": FAILURE_NUMBER,  # Invalid message: unrecognised number prefix
    "7": FAILURE_NUMBER,  # Number barred
    "8": FAILURE_ACCOUNT,  # Partner account barred
    "9": FAILURE_CREDIT,  # Partner quota violation: not enough credit
    "11": FAILURE_ACCOUNT,  # Account not enabled for HTTP
    "14": FAILURE_ACCOUNT,  # Invalid signature
    "15": FAILURE_ACCOUNT,  # Invalid sender address
    "22": FAILURE_NUMBER,  # Invalid network code
    "29": FAILURE_NUMBER,  # Non-whitelisted destination (trial account)
    "33": FAILURE_NUMBER,  # Number de-activated
}
CREDIT_WORDS = re.compile(
    r"credit|quota|balance|insufficient funds|cr[ée]dit|solde",
    re.IGNORECASE,
)
SENDER_WORDS = re.compile(r"\bfrom\b|sender|exp[ée]diteur|[ée]metteur", re.IGNORECASE)
NUMBER_WORDS = re.compile(
    r"\bto (address|param|number)|['\"]to['\"]|destination|msisdn|recipient|number barred|barred number"
    r"|number de-?activated|destinataire|num[ée]ro",
    re.IGNORECASE,
)
ACCOUNT_WORDS = re.compile(
    r"credentials|authenticat|signature|account (has been )?(barred|suspended)|identifiants|compte (bloqu|suspendu)",
    re.IGNORECASE,
)


def vonage_failure_type(status, text):
    """The failure type of a refused part: its ``error-text`` first, then its ``status``."""
    if CREDIT_WORDS.search(text):
        return FAILURE_CREDIT
    if SENDER_WORDS.search(text) or ACCOUNT_WORDS.search(text):
        return FAILURE_ACCOUNT
    if NUMBER_WORDS.search(text):
        return FAILURE_NUMBER
    return VONAGE_ERRORS.get(status, FAILURE_SERVER)


# DLR ``status`` -> (state, failure type).
VONAGE_DLR_STATUSES = {
    "delivered": ("sent", None),
    **dict.fromkeys(("accepted", "buffered", "unknown"), ("pending", None)),
    "failed": ("error", "sms_not_delivered"),
    "rejected": ("error", "sms_rejected"),
    "expired": ("error", "sms_expired"),
}
# DLR ``err-code`` values meaning the number itself is wrong: absent
# subscriber (permanent), illegal number, unroutable.
VONAGE_INVALID_DESTINATION = {"3", "9", "11"}


class VonageProvider(SmsProvider, code="vonage", label="Vonage (Nexmo) SMS API"):
    default_base_url = "https://rest.nexmo.com"
    has_balance = balance_in_answers = has_delivery_reports = has_inbound = True
    credential_labels = {
        "api_key": required("API Key"),
        "password": required("API Secret"),
        "sender": "From (sender ID or number)",  # required to send: see config_error
    }

    def _auth(self):
        return {"api_key": (self.config.get("api_key") or "").strip(), "api_secret": self.config.get("password") or ""}

    def config_error(self):
        error = super().config_error()
        if not error and not self.config.get("sender"):
            error = str(_lt("Vonage: a sender (from) is required"))
        return error

    # -- sending ------------------------------------------------------------
    def send_one(self, message):
        data = {
            **self._auth(),
            "from": self.config["sender"].strip(),
            "to": re.sub(r"[^\d]", "", message.number or ""),
            "text": message.body,
        }
        if message.unicode:
            data["type"] = "unicode"
        if self.config.get("dlr_url"):
            data["callback"] = self.config["dlr_url"]
        response, error = self._request("POST", self._url("/sms/json"), data=data, allow_redirects=False)
        if error:
            return self.failed(message, error)
        if response.status_code != 200:
            failure_type = FAILURE_ACCOUNT if response.status_code == 401 else FAILURE_SERVER
            return self.failed(message, self._unexpected(response), failure_type)
        body = self._json(response)
        parts = body.get("messages") if isinstance(body, dict) else None
        if not isinstance(parts, list) or not parts or not all(isinstance(p, dict) for p in parts):
            return self.failed(message, self._unexpected(response))
        accepted = [part for part in parts if str(part.get("status", "")).strip() == "0"]
        for part in parts:
            status = str(part.get("status", "")).strip()
            if status != "0":
                failure_type, text = self._part_error(status, part, response)
                if accepted:
                    # some parts already left: sending the whole message again would send them twice
                    text = str(
                        _lt(
                            "Vonage accepted %(accepted)s of the %(parts)s parts and refused the others: %(error)s",
                            accepted=len(accepted),
                            parts=len(parts),
                            error=text,
                        )
                    )
                    return self.failed(message, text, FAILURE_UNCERTAIN)
                return self.failed(message, text, failure_type)
        provider_id = str(parts[0].get("message-id") or "").strip()
        if not provider_id:
            return self.failed(message, self._unexpected(response))
        try:
            self.last_balance = float(parts[-1]["remaining-balance"])
        except (KeyError, TypeError, ValueError):
            pass
        return SendResult(message.ref, provider_id=provider_id)

    def _part_error(self, status, part, response):
        if not status:
            return self._unexpected_failure(response)
        text = " ".join(str(part.get("error-text") or "").split())
        message = f"{text} (Vonage status {status})" if text else f"Vonage status {status}"
        failure_type = vonage_failure_type(status, text)
        if failure_type == FAILURE_CREDIT:
            message = credit_message(message)
        return failure_type, message

    # -- account ------------------------------------------------------------
    def get_balance(self):
        self._check_credentials()
        response, error = self._request(
            "GET", self._url("/account/get-balance"), params=self._auth(), allow_redirects=False
        )
        if error:
            raise ProviderError(error)
        data = self._json(response)
        if response.status_code in (401, 403):
            label = data.get("error-code-label") if isinstance(data, dict) else None
            raise ProviderError(str(label or self._unexpected(response)).strip(), FAILURE_ACCOUNT)
        if response.status_code != 200:
            raise ProviderError(self._unexpected(response))
        try:
            return float(data["value"])
        except (TypeError, KeyError, ValueError):
            raise ProviderError(self._unexpected(response)) from None

    # -- delivery reports -----------------------------------------------------
    def parse_delivery_report(self, payload, headers=None):
        """Vonage's delivery receipt (GET query or POST form/JSON)."""
        payload = payload if isinstance(payload, dict) else {}
        message_id = str(payload.get("messageId") or payload.get("message-id") or "").strip()
        status = str(payload.get("status") or "").strip().lower()
        if not message_id or status not in VONAGE_DLR_STATUSES:
            raise ValueError(f"Vonage delivery receipt: missing or unknown messageId/status in {payload!r}")
        state, failure_type = VONAGE_DLR_STATUSES[status]
        err_code = str(payload.get("err-code") or "").strip()
        extra = {
            k: payload[k]
            for k in ("msisdn", "to", "network-code", "price", "scts", "err-code", "message-timestamp", "client-ref")
            if payload.get(k) not in (None, "")
        }
        if state != "error":
            return [DeliveryReport(message_id, state, extra=extra)]
        if status == "failed" and err_code in VONAGE_INVALID_DESTINATION:
            failure_type = "sms_invalid_destination"
        message = f"Vonage {status}" + (f" (err-code {err_code})" if err_code else "")
        return [DeliveryReport(message_id, "error", failure_type, message, extra)]

    # -- inbound messages -----------------------------------------------------
    def parse_inbound(self, payload, headers=None):
        """An inbound SMS (GET query, POST form or JSON): ``msisdn`` (the phone, E.164 without ``+``),
        ``to`` (our virtual number), ``messageId``, ``text``, ``type`` (``text``, ``unicode``, ``binary``),
        ``message-timestamp``. The parts of a long message come one by one (``concat-*``): each is stored
        as it comes; binary messages are not text and are ignored."""
        payload = payload if isinstance(payload, dict) else {}
        message_id = str(payload.get("messageId") or payload.get("message-id") or "").strip()
        number = inbound_number(payload.get("msisdn"))
        if not message_id or not number:
            raise ValueError("Vonage inbound SMS: messageId or msisdn missing")
        if str(payload.get("type") or "text").strip().lower() == "binary":
            return []
        return [
            InboundSms(
                number,
                str(payload.get("text") or ""),
                message_id,
                to=payload.get("to"),
                date=payload.get("message-timestamp"),
            )
        ]
