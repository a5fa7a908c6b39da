"""Clever Technologies "Multimedias" connector (clever-is.fr).

``POST /api/pushs`` with HTTP Basic auth and the JSON
``{"datas": {"text": …, "number_list": "<phone>", "encodage": 3}}`` (one
number per call, as RDV-Solidarités does). Success is HTTP 201
``{"push": {"nb_sms": …, "error": …}}`` without a message id: our reference
stands for it. Errors are ``{"errors": {…}}`` with 401, 402 (credit
exhausted), 430 (account expired) or 400. The value of ``encodage`` for
Unicode texts is not public: set ``encodage_unicode`` on the account once
Clever gives it (until then Unicode texts use ``encodage`` too).
"""

import json

from .base import SendResult, SmsProvider, _lt, required
from .failures import FAILURE_ACCOUNT, FAILURE_CREDIT, FAILURE_SERVER

CLEVER_ERROR_STATUSES = {
    401: FAILURE_ACCOUNT,  # unauthorized
    402: FAILURE_CREDIT,  # payment required: credit exhausted
    430: FAILURE_ACCOUNT,  # account expired
}
DEFAULT_ENCODAGE = 3  # what RDV-Solidarités sends (GSM texts)


def _flatten(value):
    """The words of an ``errors`` value (dict, list or text), one line."""
    if isinstance(value, dict):
        parts = [
            f"{key}: {_flatten(item)}" if not isinstance(item, (dict, list)) else _flatten(item)
            for key, item in value.items()
        ]
    elif isinstance(value, list):
        parts = [_flatten(item) for item in value]
    else:
        parts = [str(value)]
    return "; ".join(" ".join(part.split()) for part in parts if part and part.strip())


class CleverProvider(SmsProvider, code="clever", label="Clever Technologies (Multimedias)"):
    default_base_url = "https://webservicesmultimedias.clever-is.fr/api"
    credential_labels = {"username": required("Login"), "password": required("Password")}

    def _encodage(self, message):
        default = self.config.get("encodage") or DEFAULT_ENCODAGE
        value = (self.config.get("encodage_unicode") or default) if message.unicode else default
        return int(value) if str(value).strip().isdigit() else value

    def send_one(self, message):
        payload = {"datas": {"text": message.body, "number_list": message.number, "encodage": self._encodage(message)}}
        response, error = self._request(
            "POST",
            self._url("pushs"),
            data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            auth=((self.config.get("username") or "").encode(), (self.config.get("password") or "").encode()),
            headers={"Accept": "application/json", "Content-Type": "application/json; charset=utf-8"},
        )
        if error:
            return self.failed(message, error)
        data = self._json(response)
        if response.status_code in (200, 201):
            push = data.get("push") if isinstance(data, dict) else None
            if not isinstance(push, dict):
                return self.failed(message, self._unexpected(response))
            nb_sms, push_error = push.get("nb_sms"), push.get("error")
            if push_error and not nb_sms:
                refused = _lt("Provider refused the push: %(error)s", error=_flatten(push_error))
                return self.failed(message, str(refused))
            return SendResult(message.ref, provider_id=message.ref)  # Clever gives no message id
        failure_type = CLEVER_ERROR_STATUSES.get(response.status_code, FAILURE_SERVER)
        errors = data.get("errors") if isinstance(data, dict) else None
        words = _flatten(errors) if errors else ""
        if words:
            error_message = f"{words} (HTTP {response.status_code})"
        elif failure_type != FAILURE_SERVER or response.status_code >= 500 or not (response.text or "").strip():
            error_message = self._http_error(response)
        else:
            error_message = self._unexpected(response)
        return self.failed(message, error_message, failure_type)
