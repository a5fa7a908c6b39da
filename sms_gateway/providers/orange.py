"""Orange Contact Everyone connector (API Light).

``POST /api/light/diffusions/sms`` (form, UTF-8) with ``token``, ``to``,
``msg``, ``xcharset`` (``true`` for Unicode) and the optional
``diffusionname``, ``category``, ``locale``. HTTP 200 with the diffusion's
identifier as body on success; an error is JSON ``{message, logId}``. The
API has no per-message sender, no balance and no delivery report, and does
not report routing errors for wrong numbers. Error codes are not published:
HTTP 401/403 mean the token was refused, 402 or a message about credit means
no credit, a message about the number means a wrong number; anything else is
transient.
"""

import json
import re

from .base import SendResult, SmsProvider, required
from .failures import FAILURE_ACCOUNT, FAILURE_CREDIT, FAILURE_NUMBER, FAILURE_SERVER

SEND_PATH = "/api/light/diffusions/sms"
CREDIT_WORDS = re.compile(r"cr[ée]dit", re.IGNORECASE)
NUMBER_WORDS = re.compile(r"msisdn|num[ée]ro|number|destinataire|recipient", re.IGNORECASE)
ACCOUNT_WORDS = re.compile(r"token|authenti|unauthori[sz]ed|forbidden", re.IGNORECASE)
IDENTIFIER_RE = re.compile(r"^[\w\-.:]{1,128}$")


class OrangeProvider(SmsProvider, code="orange", label="Orange Contact Everyone (API Light)"):
    default_base_url = "https://contact-everyone.orange-business.com"
    credential_labels = {"api_key": required("Token (API Light)")}

    def _classify(self, response, text):
        if response.status_code in (401, 403) or ACCOUNT_WORDS.search(text):
            return FAILURE_ACCOUNT
        if response.status_code == 402 or CREDIT_WORDS.search(text):
            return FAILURE_CREDIT
        if 400 <= response.status_code < 500 and response.status_code != 429 and NUMBER_WORDS.search(text):
            return FAILURE_NUMBER
        return FAILURE_SERVER

    @staticmethod
    def _identifier(response):
        """The identifier in the body of a 200 answer, or None."""
        if "html" in (response.headers.get("Content-Type") or "").lower():
            return None
        text = (response.text or "").strip()
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        if isinstance(value, dict):
            value = value.get("id") or value.get("identifier")
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            return None
        value = str(value).strip()
        return value if IDENTIFIER_RE.match(value) else None

    def send_one(self, message):
        data = {
            "token": self.config["api_key"].strip(),
            "to": message.number,
            "msg": message.body,
            "xcharset": "true" if message.unicode else "false",
        }
        for key, field in (
            ("orange_diffusion_name", "diffusionname"),
            ("orange_category", "category"),
            ("orange_locale", "locale"),
        ):
            if self.config.get(key):
                data[field] = self.config[key]
        response, error = self._request("POST", self._url(SEND_PATH), data=data, allow_redirects=False)
        if error:
            return self.failed(message, error)
        if response.status_code == 200:
            identifier = self._identifier(response)
            if identifier:
                return SendResult(message.ref, provider_id=identifier)
            return self.failed(message, self._unexpected(response))
        body = self._json(response)
        if isinstance(body, dict) and body.get("message"):
            text = " ".join(str(body["message"]).split())
            log_id = body.get("logId")
            error_message = f"{text} (HTTP {response.status_code}" + (f", logId {log_id})" if log_id else ")")
            return self.failed(message, error_message, self._classify(response, text))
        return self.failed(message, self._unexpected(response), self._classify(response, ""))
