"""Brevo (formerly Sendinblue) transactional SMS connector.

``POST /v3/transactionalSMS/send`` with the ``api-key`` header, one
recipient per call; the answer's ``messageId`` is the provider id, which the
delivery webhook (``webUrl``) sends back with ``msg_status``.
"""

import json
import re

from .base import DeliveryReport, ProviderError, SendResult, SmsProvider, _lt, required
from .failures import FAILURE_ACCOUNT, FAILURE_CREDIT, FAILURE_NUMBER, FAILURE_SERVER

# Error ``code`` -> failure type; the HTTP status decides when the code is unknown.
BREVO_ERROR_CODES = {
    "not_enough_credits": FAILURE_CREDIT,
    "unauthorized": FAILURE_ACCOUNT,
    "permission_denied": FAILURE_ACCOUNT,
    "account_under_validation": FAILURE_ACCOUNT,
}
BREVO_ERROR_STATUSES = {401: FAILURE_ACCOUNT, 402: FAILURE_CREDIT, 403: FAILURE_ACCOUNT}

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


class BrevoProvider(SmsProvider, code="brevo", label="Brevo (transactional SMS)"):
    default_base_url = "https://api.brevo.com/v3"
    has_balance = has_delivery_reports = True
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
            return self._unexpected_failure(response)
        code = str(data.get("code") or "").strip()
        words = str(data.get("message") or "").strip()
        message = f"{words} ({code})" if words and code else (words or code)
        failure_type = BREVO_ERROR_CODES.get(code) or BREVO_ERROR_STATUSES.get(response.status_code)
        if (
            not failure_type
            and code == "invalid_parameter"
            and re.search(r"recipient|mobile|number", words, re.IGNORECASE)
        ):
            failure_type = FAILURE_NUMBER
        return failure_type or FAILURE_SERVER, message

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
        if self.config.get("tag"):
            payload["tag"] = self.config["tag"]
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
            return self.failed(message, error_message, failure_type)
        provider_id = data.get("messageId") if isinstance(data, dict) else None
        if provider_id in (None, ""):
            return self.failed(message, self._unexpected(response))
        return SendResult(message.ref, provider_id=str(provider_id))

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
