"""Link Mobility (formerly Netsize) IPX REST connector.

``POST /restapi/v1/sms/send`` form-encoded (UTF-8) with HTTP Basic auth, one
destination per call. HTTP 200 answers carry a ``responseCode`` (0 = success,
with one id per segment in ``messageIds``). No balance nor delivery report
API is published for this REST API.
"""

import re

from .base import NOT_AN_ID, SendResult, SmsProvider, _lt, credit_message, plain_words, required
from .failures import FAILURE_ACCOUNT, FAILURE_CREDIT, FAILURE_NUMBER, FAILURE_SERVER, FAILURE_UNKNOWN

# What is known of the answers (the IPX REST spec is a PDF given to customers; /work/shared/providers.md §1, from
# the code of RDV-Solidarités and mon-suivi-justice): HTTP 200 JSON with ``responseCode`` 0 and one id per segment
# in ``messageIds``, or a non-zero ``responseCode`` with its ``responseMessage``: 15 concatenation limit exceeded,
# 16 unable to route (transient), 18 too low balance, 100 invalid destination address, 103 invalid account name,
# 117 invalid campaign name; one destination per request (no batch to be refused for one number).
# The same numbers mean other things on Link Mobility's other APIs ("Diffusion" API error table, as its users
# publish it: 18 "Le sujet est trop court", 100 "Ip non autorisée", 4 "Aucun destinataire valide", 12 "Votre compte
# a été suspendu"), so the words of ``responseMessage`` are read first (English or French); a code only counts
# when the answer has no words, or its words are those the code stands for.
LINKMOBILITY_TRANSIENT_WORDS = re.compile(
    r"unable to route|no route|throttl|too many|rate limit|temporar|maintenance|indisponible|try again", re.IGNORECASE
)
LINKMOBILITY_CREDIT_WORDS = re.compile(
    r"credit|balance|solde|insufficient funds|fonds insuffisants|quota exceeded", re.IGNORECASE
)
LINKMOBILITY_ACCOUNT_WORDS = re.compile(
    r"account|compte|unauthori[sz]ed|authenti|password|mot de passe|identifiant|login|username|suspend|expired"
    r"|ip (non|not) (autoris|allowed|authori)|(api[ -]?)?key|cle api|token|campaign name",
    re.IGNORECASE,
)
LINKMOBILITY_NUMBER_WORDS = re.compile(
    r"destination|recipient|destinataire|msisdn|numero|phone|telephone|\bnumber\b", re.IGNORECASE
)
# responseCode -> (failure type, the words it stands for), read only after the words.
LINKMOBILITY_ERRORS = {
    "15": (FAILURE_UNKNOWN, r"concatenat"),  # concatenation limit exceeded: permanent, not a server error
    "16": (FAILURE_SERVER, r"route"),  # unable to route: transient
    "18": (FAILURE_CREDIT, r"balance|credit|solde"),  # too low balance
    "100": (FAILURE_NUMBER, r"destination|number|recipient|numero"),  # invalid destination address
    "103": (FAILURE_ACCOUNT, r"account"),  # invalid account name
    "117": (FAILURE_ACCOUNT, r"campaign"),  # invalid campaign name: account configuration
}


def linkmobility_failure_type(code, words):
    """The failure type of a non-zero ``responseCode`` with its ``responseMessage`` ``words``."""
    plain = plain_words(words)
    for pattern, failure_type in (
        (LINKMOBILITY_TRANSIENT_WORDS, FAILURE_SERVER),
        (LINKMOBILITY_CREDIT_WORDS, FAILURE_CREDIT),
        (LINKMOBILITY_ACCOUNT_WORDS, FAILURE_ACCOUNT),
        (LINKMOBILITY_NUMBER_WORDS, FAILURE_NUMBER),
    ):
        if pattern.search(plain):
            return failure_type
    failure_type, meaning = LINKMOBILITY_ERRORS.get(code, (FAILURE_SERVER, None))
    if meaning and (not plain.strip() or re.search(meaning, plain, re.IGNORECASE)):
        return failure_type
    return FAILURE_SERVER  # words we do not know (or a code we do not know): a refusal of the request


TON_ALPHANUMERIC, TON_SHORTCODE, TON_MSISDN = "1", "2", "3"


class LinkMobilityProvider(SmsProvider, code="linkmobility", label="Link Mobility (Netsize IPX REST)"):
    default_base_url = "https://europe.ipx.com/restapi/v1"
    credential_labels = {
        "username": required("Username"),
        "password": required("Password"),
        "sender": "Originating address",
    }

    @staticmethod
    def originator_ton(sender):
        """The ``originatorTON`` that fits ``sender``."""
        digits = sender.lstrip("+")
        if digits.isdigit():
            return TON_SHORTCODE if len(digits) <= 6 else TON_MSISDN
        return TON_ALPHANUMERIC

    def send_one(self, message):
        form = {
            "destinationAddress": message.number,
            "messageText": message.body,
            "maxConcatenatedMessages": str(self.config.get("max_concatenated") or 10),
        }
        sender = (self.config.get("sender") or "").strip()
        if sender:
            form["originatingAddress"] = sender
            form["originatorTON"] = self.originator_ton(sender)
        if self.config.get("campaign_name"):
            form["campaignName"] = self.config["campaign_name"]
        response, error = self._request(
            "POST",
            self._url("sms/send"),
            data=form,  # requests encodes the values as UTF-8
            # as UTF-8 bytes: requests would encode str credentials as Latin-1
            auth=((self.config.get("username") or "").encode(), (self.config.get("password") or "").encode()),
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8", "Accept": "application/json"},
        )
        if error:
            return self.failed(message, error)
        if response.status_code in (401, 403):
            refused = _lt("Credentials refused by the provider (HTTP %(status)s)", status=response.status_code)
            return self.failed(message, str(refused), FAILURE_ACCOUNT)
        if response.status_code != 200:
            return self.failed(message, self._http_error(response))
        data = self._json(response)
        code = data.get("responseCode") if isinstance(data, dict) else None
        code = str(code).strip() if isinstance(code, (int, str)) and not isinstance(code, bool) else ""
        if not code.isdigit():  # a 200 we cannot read (a plain "KO" or "ERROR" included): it may have been taken
            return self.failed(message, self._unexpected(response))
        code = str(int(code))
        if code == "0":
            ids = data.get("messageIds")
            if not isinstance(ids, list) or not ids or not all(self._is_id(i) for i in ids):
                return self.failed(message, self._unexpected(response))
            return SendResult(message.ref, provider_id=",".join(str(i).strip() for i in ids))
        words = re.sub(r"\s+", " ", str(data.get("responseMessage") or "")).strip()
        error_message = f"{words} (responseCode {code})" if words else f"responseCode {code}"
        failure_type = linkmobility_failure_type(code, words)
        if failure_type == FAILURE_CREDIT:
            error_message = credit_message(error_message)
        return self.failed(message, error_message, failure_type)

    @staticmethod
    def _is_id(value):
        """Whether ``value`` of ``messageIds`` is a message id (``1-6420598420``), not an error word."""
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            return False
        text = str(value).strip()
        return bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:-]*", text)) and text.upper() not in NOT_AN_ID
