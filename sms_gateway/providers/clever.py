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
import re

from .base import SendResult, SmsProvider, _lt, credit_message, plain_words, required
from .failures import FAILURE_ACCOUNT, FAILURE_CREDIT, FAILURE_NUMBER, FAILURE_SERVER, FAILURE_UNCERTAIN

# What is known of the answers (Clever's "Specifications API_WS_ReST Multimedias.pdf" is given to customers only;
# /work/shared/providers.md §3 and RDV-Solidarités' send_transactional_sms_service.rb, which cites it): HTTP 201
# ``{"push": {"nb_sms": …, "error": …}}`` on success; otherwise ``{"errors": {<field>: <words>}}`` with 401
# (unauthorized), 402 (payment required: credit exhausted), 430 (account expired) or 400 (a field refused: its
# key names it, e.g. ``number_list`` for the recipient). Wrong but well-formed numbers are not reported at all.
# One number per call here: no batch can be refused for one number.
# The field names and the words (French or English) are read before the HTTP status.
CLEVER_CREDIT_WORDS = re.compile(
    r"credit|solde|payment required|insufficient funds|fonds insuffisants|paiement requis", re.IGNORECASE
)
CLEVER_ACCOUNT_WORDS = re.compile(
    r"unauthori[sz]ed|non autorise|authenti|identifiant|login|password|mot de passe|account|compte|expired|expire"
    r"|suspend|bloque|desactive|disabled",
    re.IGNORECASE,
)
_NUMBER = r"(numeros?|numbers?|phones?|telephones?|mobiles?|gsm|msisdn|destinataires?|recipients?|destinations?)"
_INVALID = r"(invalid|invalide|incorrect|not valid|non valide|malformed|mal forme|wrong|bad|mauvais|unknown|inconnu)"
CLEVER_NUMBER_WORDS = re.compile(rf"\b{_NUMBER}\b[^.;]*\b{_INVALID}|\b{_INVALID}\b[^.;]*\b{_NUMBER}\b", re.IGNORECASE)
CLEVER_NUMBER_FIELDS = {"number_list", "number", "numbers", "numero", "recipient", "recipients", "phone"}
CLEVER_ERROR_STATUSES = {
    401: FAILURE_ACCOUNT,  # unauthorized
    402: FAILURE_CREDIT,  # payment required: credit exhausted
    430: FAILURE_ACCOUNT,  # account expired
}
DEFAULT_ENCODAGE = 3  # what RDV-Solidarités sends (GSM texts)


def _fields(value):
    """The keys of an ``errors`` value, at any depth, lowercased."""
    if isinstance(value, dict):
        return {str(key).strip().lower() for key in value} | {f for item in value.values() for f in _fields(item)}
    if isinstance(value, list):
        return {f for item in value for f in _fields(item)}
    return set()


def clever_failure_type(words, fields=(), status=None):
    """The failure type of a refusal: its words first (credit, account, an invalid number, in French or English),
    then the fields it names (the recipient's ``number_list``), then its HTTP status."""
    plain = plain_words(words)
    if CLEVER_CREDIT_WORDS.search(plain):
        return FAILURE_CREDIT
    if CLEVER_ACCOUNT_WORDS.search(plain):
        return FAILURE_ACCOUNT
    if CLEVER_NUMBER_WORDS.search(plain) or (status in (None, 400, 422) and set(fields) & CLEVER_NUMBER_FIELDS):
        return FAILURE_NUMBER  # final: the same number would be refused again
    return CLEVER_ERROR_STATUSES.get(status, FAILURE_SERVER)


def _flatten(value):
    """The words of an ``errors`` value (dict, list or text), one line, each under the field it is about."""
    if isinstance(value, dict):
        parts = [f"{key}: {_flatten(item)}" if _flatten(item) else "" for key, item in value.items()]
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
            if isinstance(nb_sms, bool) or not isinstance(nb_sms, (int, str)) or not str(nb_sms).strip().isdigit():
                nb_sms = None
            else:
                nb_sms = int(str(nb_sms).strip())
            if push_error in (None, 0, "", "0", False) and not nb_sms:
                # no count of SMS taken (missing, not a number, or 0 without a word): we cannot tell
                return self.failed(message, self._unexpected(response))
            if push_error not in (None, 0, "", "0", False):
                words = _flatten(push_error)
                refused = str(_lt("Provider refused the push: %(error)s", error=words))
                failure_type = clever_failure_type(words, _fields(push_error))
                if nb_sms and failure_type == FAILURE_SERVER:
                    # SMS counted and an error we cannot read: it may have been sent
                    return self.failed(message, self._unexpected(response), FAILURE_UNCERTAIN)
                return self.failed(message, self._credit_words(refused, failure_type), failure_type)
            return SendResult(message.ref, provider_id=message.ref)  # Clever gives no message id
        errors = data.get("errors") if isinstance(data, dict) else None
        words = _flatten(errors) if errors else ""
        failure_type = clever_failure_type(words, _fields(errors), response.status_code)
        if words:
            error_message = f"{words} (HTTP {response.status_code})"
        elif failure_type != FAILURE_SERVER or response.status_code >= 500 or not (response.text or "").strip():
            error_message = self._http_error(response)
        else:
            error_message = self._unexpected(response)
        return self.failed(message, self._credit_words(error_message, failure_type), failure_type)

    @staticmethod
    def _credit_words(error_message, failure_type):
        """``error_message``, saying "credit" when the failure is one of credit and the provider's words did not."""
        return credit_message(error_message) if failure_type == FAILURE_CREDIT else error_message
