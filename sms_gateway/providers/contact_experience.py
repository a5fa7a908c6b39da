"""Contact Experience (Gen-IP) connector.

``GET .../SMS/sendSms.php?number=…&msg=…&devCode=…&emetteur=…``: the key
(``devCode``) travels in the query, ``emetteur`` is the e-mail address that
receives the replies (not a sender name). Success
``{"size":…, "list":[{"id":…}], "httpStatusCode":201}``; errors
``{"status":"KO","message":"BAD DEV CODE "}`` (note the trailing spaces).

Doc facts relied on (providers.md §4, from RDV-Solidarités' production code, the spec being a customer PDF):
the two KO words known are ``BAD DEV CODE `` and ``Invalid number `` (trailing spaces), and KO answers come
with an HTTP 2xx status (RDV reads them only once the HTTP call succeeded); one number per call (no batch, so
a bad number never holds others back). Other words are not published: they are read (English or French)
before giving up — credit/solde -> no credit, the number/recipient -> that number refused, the key or the
account -> account — and anything else is a refusal (safe to retry). A plain-text ``KO``/``ERROR`` answer
is a refusal, never a success.
"""

import re

from .base import PLAIN_REFUSAL, SendResult, SmsProvider, credit_message, required
from .failures import FAILURE_ACCOUNT, FAILURE_CREDIT, FAILURE_NUMBER, FAILURE_SERVER

# The KO words documented (normalised) -> failure type; other words are read with the patterns below.
CONTACT_EXPERIENCE_ERRORS = {
    "BAD DEV CODE": FAILURE_ACCOUNT,
    "INVALID NUMBER": FAILURE_NUMBER,
}
# (pattern, failure type), first match wins
WORD_PATTERNS = [
    (re.compile(r"cr[ée]dit|solde|balance|forfait", re.IGNORECASE), FAILURE_CREDIT),
    (re.compile(r"dev\s*code|devcode|api\s*key|cl[ée]\b", re.IGNORECASE), FAILURE_ACCOUNT),
    (
        re.compile(r"num[ée]ro|number|destinataire|recipient|msisdn|t[ée]l[ée]phone|phone|mobile", re.IGNORECASE),
        FAILURE_NUMBER,
    ),
    (
        re.compile(r"account|compte|suspen|bloqu|d[ée]sactiv|disabled|expir|authenti|unauthori[sz]ed", re.IGNORECASE),
        FAILURE_ACCOUNT,
    ),
]


def failure_type_of_words(words):
    """The failure type the provider's ``words`` say (sms_server when they say nothing known)."""
    known = CONTACT_EXPERIENCE_ERRORS.get(words.upper())
    if known:
        return known
    for pattern, failure_type in WORD_PATTERNS:
        if pattern.search(words):
            return failure_type
    return FAILURE_SERVER


class ContactExperienceProvider(SmsProvider, code="contact_experience", label="Contact Experience (Gen-IP)"):
    default_base_url = "https://contact-experience.com/ccv/webServicesCCV/SMS"
    credential_labels = {"api_key": required("devCode"), "sender": required("emetteur (reply e-mail address)")}

    def _refusal(self, message, words, fallback):
        """The failed result of a refusal saying ``words`` (``fallback`` as message when there are none)."""
        if not words:
            return self.failed(message, fallback, FAILURE_SERVER)
        failure_type = failure_type_of_words(words)
        if failure_type == FAILURE_CREDIT:
            words = credit_message(words)
        return self.failed(message, words, failure_type)

    def send_one(self, message):
        params = {
            "number": message.number,
            "msg": message.body,
            "devCode": self.config.get("api_key") or "",
            "emetteur": self.config.get("sender") or "",
        }
        response, error = self._request("GET", self._url("sendSms.php"), params=params)
        if error:
            return self.failed(message, error)
        data = self._json(response)
        if isinstance(data, dict) and str(data.get("status") or "").strip().upper() == "KO":
            words = " ".join(str(data.get("message") or "").split())
            return self._refusal(message, words, self._unexpected(response))
        if data is None and "html" not in (response.headers.get("Content-Type") or "").lower():
            text = " ".join(self._text(response).split())
            if PLAIN_REFUSAL.match(text):
                # a plain-text KO/ERROR: refused, nothing sent; its words may say why
                words = PLAIN_REFUSAL.sub("", text, count=1).strip(" :-")
                failure_type = failure_type_of_words(words) if words else FAILURE_SERVER
                if failure_type == FAILURE_CREDIT:
                    text = credit_message(text)
                return self.failed(message, text[:200], failure_type)
        if response.status_code not in (200, 201):
            return self.failed(message, self._http_error(response))
        provider_id = self._first_id(data)
        if not provider_id:
            embedded = data.get("httpStatusCode") if isinstance(data, dict) else None
            # an error status inside the answer is a refusal (its words say which); anything else unreadable
            # may be a success
            if isinstance(embedded, int) and embedded >= 400:
                words = " ".join(str(data.get("message") or "").split())
                return self._refusal(message, words, self._unexpected(response))
            return self.failed(message, self._unexpected(response))
        return SendResult(message.ref, provider_id=provider_id)

    @staticmethod
    def _first_id(data):
        """``list[0].id`` of a success answer, or None."""
        if not isinstance(data, dict) or str(data.get("status") or "").strip().upper() == "KO":
            return None
        status = data.get("httpStatusCode")
        if status is not None and not re.fullmatch(r"2\d\d", str(status).strip()):
            return None
        items = data.get("list")
        if not isinstance(items, list) or not items or not isinstance(items[0], dict):
            return None
        provider_id = items[0].get("id")
        if provider_id in (None, "") or isinstance(provider_id, (dict, list, bool)):
            return None
        return str(provider_id).strip() or None
