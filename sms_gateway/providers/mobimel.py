"""Mobimel (Adista) connector, newer GET API.

``GET /api/envoyer/sms?key=&type=&message=&destinataires=&expediteur=`` ->
``{"resultat": 1}`` or ``{"resultat": 0, "erreurs": "..."}``; one recipient
per call. The answer carries no message id (an ``id`` is used when present):
our reference is the provider id. ``type`` comes from ``mobimel_type``
(default ``premium``).

What the sources say: the newer API answers ``{"resultat": 1}`` or ``{"resultat": 0, "erreurs": "<text>"}``
(``/work/shared/providers.md`` section 8; the only public client, github.com/kahlys/sms driver/mobimel, reads
``resultat`` as an int and ``erreurs`` as a string "see mobimel api documentation"): the content of
``erreurs`` is not published. The legacy ``envoi_form.asp`` API documents a code table (105 106 111 112 4: no
credit; 117 2 3: bad number; 101 102 103 104 108 118: account). So the words of ``erreurs`` are read first
(French or English: crédit / destinataire, numéro invalide / clé, compte, expéditeur...), and only an answer
without such words is read with the legacy code table (a count or a number inside a sentence, as in
"Crédit insuffisant : 3 SMS restants", is never taken for a code); anything else is transient. One recipient
per call: a bad number never refuses another message.
"""

import re

from .base import SendResult, SmsProvider, _lt, credit_message, required
from .failures import FAILURE_ACCOUNT, FAILURE_CREDIT, FAILURE_NUMBER, FAILURE_SERVER

SEND_PATH = "/api/envoyer/sms"
MOBIMEL_CODES = {
    **dict.fromkeys(("105", "106", "111", "112", "4"), FAILURE_CREDIT),
    **dict.fromkeys(("117", "2", "3"), FAILURE_NUMBER),
    **dict.fromkeys(("101", "102", "103", "104", "108", "118"), FAILURE_ACCOUNT),
}
MOBIMEL_WORDS = [
    (re.compile(r"cr[ée]dit|solde|balance|insufficient funds|\bfunds\b", re.IGNORECASE), FAILURE_CREDIT),
    (
        re.compile(
            r"destinataire|recipient|num[ée]ro (de t[ée]l[ée]phone |de mobile )?(invalide|incorrect|erron|inconnu)"
            r"|(invalid|bad|wrong) (phone |mobile )?number|number (is )?invalid",
            re.IGNORECASE,
        ),
        FAILURE_NUMBER,
    ),
    (
        re.compile(r"cl[ée]|\bkey\b|compte|account|authenti|identifi|exp[ée]diteur|sender", re.IGNORECASE),
        FAILURE_ACCOUNT,
    ),
    (re.compile(r"num[ée]ro|number|t[ée]l[ée]phone|phone", re.IGNORECASE), FAILURE_NUMBER),
]


def classify_errors(errors):
    """(failure type, text) for the ``erreurs`` of an answer (a string, a
    list or a dict of codes and/or messages): its words first, then the legacy code table for the values
    that are bare codes."""
    if isinstance(errors, dict):
        items = [f"{k}: {v}" if v not in (None, "") else str(k) for k, v in errors.items()]
        codes = [str(k) for k in errors] + [str(v) for v in errors.values()]
    elif isinstance(errors, (list, tuple)):
        items = [str(e) for e in errors]
        codes = items
    else:
        items = [str(errors if errors is not None else "")]
        codes = [items[0]]
    text = " ".join(" ; ".join(i.strip() for i in items if i.strip()).split())
    for pattern, failure_type in MOBIMEL_WORDS:
        if pattern.search(text):
            return failure_type, text
    for code in codes:
        # a bare code, or a code leading the text ("105", "105/...", "105 : ...")
        match = re.fullmatch(r"\s*(\d+)\s*(?:[/:;-].*)?", code, re.DOTALL)
        if match and match.group(1) in MOBIMEL_CODES:
            return MOBIMEL_CODES[match.group(1)], text
    return FAILURE_SERVER, text


class MobimelProvider(SmsProvider, code="mobimel", label="Mobimel (Adista)"):
    default_base_url = "https://portail.mobimel.com"
    credential_labels = {"api_key": required("Clé API (key)"), "sender": "Expéditeur"}

    def send_one(self, message):
        params = {
            "key": self.config["api_key"].strip(),
            "type": (self.config.get("mobimel_type") or "premium").strip(),
            "message": message.body,
            "destinataires": message.number,
        }
        if self.config.get("sender"):
            params["expediteur"] = self.config["sender"].strip()
        response, error = self._request("GET", self._url(SEND_PATH), params=params, allow_redirects=False)
        if error:
            return self.failed(message, error)
        data = self._json(response)
        if response.status_code != 200 or not isinstance(data, dict) or "resultat" not in data:
            failure_type = FAILURE_ACCOUNT if response.status_code in (401, 403) else None
            return self.failed(message, self._unexpected(response), failure_type)
        result = str(data["resultat"]).strip()
        if result in ("1", "True", "true"):
            provider_id = str(data.get("id") or "").strip() or message.ref
            return SendResult(message.ref, provider_id=provider_id)
        if result not in ("0", "False", "false"):
            return self.failed(message, self._unexpected(response))
        failure_type, text = classify_errors(data.get("erreurs"))
        text = text or str(_lt("Mobimel refused the message (no error given)"))
        if failure_type == FAILURE_CREDIT:
            text = credit_message(text)
        return self.failed(message, text, failure_type)
