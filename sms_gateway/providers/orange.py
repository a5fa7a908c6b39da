"""Orange Contact Everyone connector (API Light).

``POST /api/light/diffusions/sms`` (form, UTF-8) with ``token``, ``to``,
``msg``, ``xcharset`` (``true`` for Unicode) and the optional
``diffusionname``, ``category``, ``locale``. HTTP 200 with the diffusion's
identifier as body on success; an error is JSON ``{message, logId}``. The
API has no per-message sender, no balance and no delivery report, and does
not report routing errors for wrong numbers.

Doc facts relied on (providers.md §6; Symfony's ContactEveryone notifier bridge: any status other than 200 is
an error whose JSON carries ``message`` and ``logId``, the 200 body is taken whole as the message id;
RDV-Solidarités, after Orange's ``API_Light_CEO_Manuel_Utilisateur.pdf``: wrong numbers are not reported as
routing errors): one recipient per call (no batch, so one bad number never holds others back). Error codes
are not published, so the words of ``message`` are read first (English or French, as ``locale`` asks):
credit -> no credit, the recipient (msisdn, numéro, ``to`` field) -> wrong number, token/account -> account;
only then the status: 401/403 the token refused, 402 no credit; anything else is a refusal (safe to retry).
A 200 body that says ``KO``/``ERROR`` is a refusal, never an identifier.
"""

import json
import re

from .base import PLAIN_REFUSAL, SendResult, SmsProvider, credit_message, required
from .failures import FAILURE_ACCOUNT, FAILURE_CREDIT, FAILURE_NUMBER, FAILURE_SERVER

SEND_PATH = "/api/light/diffusions/sms"
CREDIT_WORDS = re.compile(r"cr[ée]dit|solde|balance|quota", re.IGNORECASE)
NUMBER_WORDS = re.compile(
    r"msisdn|num[ée]ro|number|destinataire|recipient|t[ée]l[ée]phone|phone"
    r"|(?:param(?:eter|[èe]tre)?s?|field|champ)\s*[:'\"«]?\s*to\b|['\"«]\s*to\s*['\"»]|\bto\s*[:=]",
    re.IGNORECASE,
)
ACCOUNT_WORDS = re.compile(
    r"token|jeton|authenti|unauthori[sz]ed|forbidden|interdit|suspen|account|compte|expir|d[ée]sactiv|disabled",
    re.IGNORECASE,
)
IDENTIFIER_RE = re.compile(r"^[\w\-.:]{1,128}$")


class OrangeProvider(SmsProvider, code="orange", label="Orange Contact Everyone (API Light)"):
    default_base_url = "https://contact-everyone.orange-business.com"
    credential_labels = {"api_key": required("Token (API Light)")}

    @staticmethod
    def _classify(response, text):
        """The failure type of a refusal: the provider's words first, then its HTTP status."""
        status = response.status_code
        if CREDIT_WORDS.search(text):
            return FAILURE_CREDIT
        if NUMBER_WORDS.search(text) and status != 429 and status < 500:
            return FAILURE_NUMBER
        if ACCOUNT_WORDS.search(text) or status in (401, 403):
            return FAILURE_ACCOUNT
        if status == 402:
            return FAILURE_CREDIT
        return FAILURE_SERVER

    def _refusal(self, message, response, text, log_id=None):
        """The failed result of a refusal saying ``text`` (the provider's words)."""
        failure_type = self._classify(response, text)
        error_message = f"{text} (HTTP {response.status_code}" + (f", logId {log_id})" if log_id else ")")
        if failure_type == FAILURE_CREDIT:
            error_message = credit_message(error_message)
        return self.failed(message, error_message, failure_type)

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
        if PLAIN_REFUSAL.match(value):
            return None
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
        body = self._json(response)
        error_shape = isinstance(body, dict) and body.get("message") and not (body.get("id") or body.get("identifier"))
        if error_shape and (response.status_code != 200 or body.get("logId")):
            # the documented error shape {message, logId}; with a 200 only when complete (else: unreadable)
            text = " ".join(str(body["message"]).split())
            return self._refusal(message, response, text, body.get("logId"))
        if response.status_code == 200:
            identifier = self._identifier(response)
            if identifier:
                return SendResult(message.ref, provider_id=identifier)
            text = " ".join(self._text(response).split())
            if PLAIN_REFUSAL.match(text) and "html" not in (response.headers.get("Content-Type") or "").lower():
                # a plain-text KO/ERROR: the provider refused the message (nothing sent)
                return self._refusal(message, response, text[:200])
            return self.failed(message, self._unexpected(response))
        return self.failed(message, self._unexpected(response), self._classify(response, ""))
