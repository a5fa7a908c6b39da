"""OVHcloud SMS connector (http2sms).

``GET /cgi-bin/sms/http2sms.cgi`` with ``account`` (the SMS service, e.g.
``sms-xx1234-1``), ``login`` / ``password`` (an SMS user of that service),
``from``, ``to`` (several numbers comma-separated, international format with
the ``00`` prefix: ``0033601020304``), ``message``,
``smsCoding`` (1 = GSM-7, 2 = Unicode), ``noStop`` and
``contentType=text/json`` which makes OVH answer
``{"status": 100, "creditLeft": "230.50", "smsIds": [...]}`` (ids in the
order of the recipients; ``SmsIds`` is accepted too). The plain text answer
(``OK\\n<credits>\\n<ids>`` / ``KO\\n<message>``) is understood as well.

One call carries one text: messages of a batch are grouped by text and
encoding. OVH's error statuses (201 missing parameter, 202 invalid parameter,
241 sender not found, 401 authentication) are coarse: 202 covers a bad
receiver as well as any other bad value, so an error is classified by the
words of its message first (credit / sender / receiver, number / login,
password, account; English or French), then by status (241, 401: account).
When a call carrying several numbers is refused because of a number, nothing
was sent: the number(s) the message names are failed alone and the others are
sent again in one call (one call per number when the message names none).

Doc facts relied on (OVH guide "Envoyer des SMS depuis une URL - http2sms",
docs.ovh.com/fr/sms/envoyer_des_sms_depuis_une_url_-_http2sms and its English
version help.ovhcloud.com KB0039184; /work/shared/providers.md section 12):
``to`` takes several numbers separated by commas in one call; ``contentType``
chooses the answer format (text/plain by default, text/json); the JSON answer
is ``{"status": 100, "creditLeft": ..., "SmsIds"/"smsIds": [...]}``, the text
one ``OK\n<credits>\n<ids>`` or ``KO\n<message>`` (e.g. the real answer
``KO\nInvalid smsAccount, it should look like 'sms-ab1234-1'.`` quoted in
public client code). OVH ids are numbers (``"69265512"``): anything else in
the id list is not taken as an id. No public document gives the exact words of
the invalid-receiver or no-credit answers: they are matched by words.

OVH has no balance call in http2sms: ``last_balance`` holds the
``creditLeft`` of the last answer that carried one.
"""

import re

from .base import DeliveryReport, InboundSms, ProviderError, SendResult, SmsProvider, _lt, inbound_number, required
from .failures import FAILURE_ACCOUNT, FAILURE_CREDIT, FAILURE_NUMBER, FAILURE_SERVER, FAILURE_UNKNOWN

HTTP2SMS_PATH = "/cgi-bin/sms/http2sms.cgi"
OVH_SUCCESS = {100, 101}
OVH_ACCOUNT_STATUSES = {241, 401}  # sender not found, authentication error
OVH_ERROR_LINES = {"KO", "ERROR", "NOK"}  # first line of a plain-text refusal
OVH_ID = re.compile(r"\d+")

# Words of an error message -> failure type (first match wins), read before the status table: the status
# (202 "invalid parameter") does not say which parameter. English and French words.
OVH_ERROR_WORDS = [
    (re.compile(r"cr[eé]dit|solde|balance", re.IGNORECASE), FAILURE_CREDIT),
    # the sender (from) is the account's: "Invalid sender number" is not about the recipient
    (re.compile(r"sender|\bfrom\b|exp[eé]diteur|[eé]metteur", re.IGNORECASE), FAILURE_ACCOUNT),
    (
        re.compile(r"receiver|recipient|destinataire|number|num[eé]ro|phone|t[eé]l[eé]phone", re.IGNORECASE),
        FAILURE_NUMBER,
    ),
    (
        re.compile(
            r"login|password|account|unauthori[sz]ed|not allowed|forbidden|suspend|disabled|blocked"
            r"|identifiant|mot de passe|compte|authentification|bloqu|d[eé]sactiv",
            re.IGNORECASE,
        ),
        FAILURE_ACCOUNT,
    ),
]

# DLR ``ptt`` codes: 1/2 still at OVH, 3 accepted by the operator, 4 delivered,
# 5 and above: not delivered.
OVH_PTT_DELIVERED = 4


class OvhProvider(SmsProvider, code="ovh", label="OVHcloud SMS (http2sms)"):
    default_base_url = "https://www.ovh.com"
    batch_size = 500
    balance_in_answers = has_delivery_reports = has_inbound = True  # no balance call: see last_balance
    credential_labels = {
        "service_id": required("SMS account (sms-xx1234-1)"),
        "username": required("SMS user login"),
        "password": required("SMS user password"),
        "sender": "Sender (from)",
    }
    account_fields = {"ovh_no_stop": "ovh_no_stop"}

    def _auth_params(self):
        return {
            "account": (self.config.get("service_id") or "").strip(),
            "login": (self.config.get("username") or "").strip(),
            "password": self.config.get("password") or "",
        }

    @staticmethod
    def _number(number):
        """E.164 (+33601020304) -> OVH's international format (0033601020304)."""
        number = re.sub(r"[\s.()-]", "", number or "")
        return "00" + number[1:] if number.startswith("+") else number

    @staticmethod
    def _classify(status, text):
        """The failure type of a refusal: the provider's words first, then the status table."""
        for pattern, failure_type in OVH_ERROR_WORDS:
            if pattern.search(text or ""):
                return failure_type
        if status in OVH_ACCOUNT_STATUSES:
            return FAILURE_ACCOUNT
        return FAILURE_SERVER

    def _call(self, params):
        """One http2sms call. Return ``(ids, None)`` on success or
        ``(None, (failure type, message))``."""
        response, error = self._request("GET", self._url(HTTP2SMS_PATH), params=params, allow_redirects=False)
        if error:
            return None, (self.failure_type_of(error), error)
        data = self._json(response)
        if response.status_code != 200:
            # An HTTP error status carrying OVH's own refusal (e.g. a 400 naming the receiver) is read
            # for its words; a success inside an error status, or any other body, is not understood.
            refusal = None
            if isinstance(data, dict) and "status" in data:
                refusal = self._parse_json(data, response)
            elif self._error_lines(response) is not None:
                refusal = self._parse_text(response)
            if refusal and refusal[1]:
                return refusal
            return None, self._unexpected_failure(response)
        if isinstance(data, dict) and "status" in data:
            return self._parse_json(data, response)
        return self._parse_text(response)

    @staticmethod
    def _error_lines(response):
        """The lines after the first of a plain-text refusal (``KO``, ``ERROR``...), or None."""
        lines = [line.strip() for line in (response.text or "").strip().splitlines()]
        if not lines:
            return None
        head, _sep, rest = lines[0].partition(" ")
        head = head.rstrip(":").upper()
        if head not in OVH_ERROR_LINES:
            return None
        rest = rest.strip(" :-")
        return [rest, *lines[1:]] if rest else lines[1:]

    def _note_balance(self, value):
        try:
            self.last_balance = float(str(value).strip())
        except (TypeError, ValueError):
            pass

    def _parse_json(self, data, response):
        try:
            status = int(data["status"])
        except (TypeError, ValueError):
            return None, self._unexpected_failure(response)
        if "creditLeft" in data:
            self._note_balance(data["creditLeft"])
        if status in OVH_SUCCESS:
            ids = data.get("smsIds", data.get("SmsIds"))
            if not isinstance(ids, list) or not all(OVH_ID.fullmatch(str(i).strip()) for i in ids):
                return None, self._unexpected_failure(response)
            return [str(i).strip() for i in ids], None
        if 100 <= status < 200:
            # an unknown status of the success range: OVH may have taken the message
            return None, self._unexpected_failure(response)
        text = " ".join(str(data.get("message") or "").split())
        message = f"{text} (OVH status {status})" if text else f"OVH status {status}"
        return None, (self._classify(status, text), message)

    def _parse_text(self, response):
        error_lines = self._error_lines(response)
        if error_lines is not None:
            # a refusal: never an id, whatever follows
            text = " ".join(" ".join(error_lines).split())
            first = (response.text or "").strip().split()[0]
            return None, (self._classify(None, text), text or first)
        lines = [line.strip() for line in (response.text or "").splitlines()]
        if lines and lines[0] == "OK" and len(lines) >= 2:
            ids = [i for line in lines[2:] for i in re.split(r"[,;\s]+", line) if i]
            if not all(OVH_ID.fullmatch(i) for i in ids):
                return None, self._unexpected_failure(response)
            self._note_balance(lines[1])
            return ids, None
        return None, self._unexpected_failure(response)

    # -- sending ------------------------------------------------------------
    def send(self, messages):
        error = self.config_error()
        if error:
            return self.fail_all(messages, FAILURE_ACCOUNT, error)
        # One call per (text, encoding); a number appears at most once per call.
        groups = []
        open_groups = {}  # (text, encoding) -> (its open group, the numbers in it)
        for message in messages:
            key = (message.body, bool(message.unicode))
            group, numbers = open_groups.get(key, (None, None))
            if group is None or len(group) >= self.batch_size or message.number in numbers:
                group, numbers = [], set()
                open_groups[key] = (group, numbers)
                groups.append(group)
            group.append(message)
            numbers.add(message.number)
        results = []
        for group in groups:
            results.extend(self._send_group(group))
        return results

    def _send_group(self, messages):
        first = messages[0]
        params = {
            **self._auth_params(),
            "to": ",".join(self._number(m.number) for m in messages),
            "message": first.body,
            "smsCoding": "2" if first.unicode else "1",
            "noStop": "0" if self.config.get("ovh_no_stop") is False else "1",
            "contentType": "text/json",
        }
        if self.config.get("sender"):
            params["from"] = self.config["sender"].strip()
        ids, error = self._call(params)
        if error:
            if error[0] == FAILURE_NUMBER and len(messages) > 1:
                return self._isolate_refused_numbers(messages, error)
            return self.fail_all(messages, *error)
        results = []
        for index, message in enumerate(messages):
            if index < len(ids):
                results.append(SendResult(message.ref, provider_id=ids[index]))
            else:
                # Accepted by OVH (status 100) but without an id for this number.
                results.append(
                    SendResult(
                        message.ref,
                        error_message=str(
                            _lt(
                                "OVH accepted the message but returned %(ids)s id(s) for %(count)s number(s)",
                                ids=len(ids),
                                count=len(messages),
                            )
                        ),
                    )
                )
        return results

    def _isolate_refused_numbers(self, messages, error):
        """OVH refused the whole call because of a number: nothing was sent. The messages to the number(s)
        its words name fail (``sms_number_format``, never retried) and the others are sent again in one
        call; when the words name none of them, one call per number finds the culprit(s)."""
        named = [m for m in messages if self._names_number(error[1], m.number)]
        if not named:
            results = []
            for message in messages:
                results.extend(self._send_group([message]))
            return results
        results = self.fail_all(named, *error)
        others = [m for m in messages if m not in named]
        if others:
            results.extend(self._send_group(others))
        return results

    def _names_number(self, text, number):
        """Whether the provider's words ``text`` name ``number`` (in OVH's 00 format, E.164 or national)."""
        digits = re.sub(r"\D", "", self._number(number))
        found = re.findall(r"\+?\d[\d .-]{6,}\d", text or "")
        return any(re.sub(r"\D", "", f).lstrip("0") == digits.lstrip("0") for f in found)

    # -- account ------------------------------------------------------------
    def get_balance(self):
        """The credit left reported by the last send (http2sms has no
        balance call)."""
        if self.last_balance is None:
            raise ProviderError(
                str(_lt("OVH reports the credit left only in the answer to a send (http2sms has no balance call)")),
                FAILURE_UNKNOWN,
            )
        return self.last_balance

    def test_connection(self):
        """A call without recipient nor text: OVH checks the credentials
        first, so 'missing parameter' means they were accepted. Nothing is
        sent."""
        self._check_credentials()
        _ids, error = self._call({**self._auth_params(), "contentType": "text/json"})
        if error and not re.search(r"\bmissing\b", error[1], re.IGNORECASE):
            raise ProviderError(error[1], error[0])
        if self.last_balance is not None:
            return str(_lt("Connection OK. Credit left: %(balance)s", balance=self.last_balance))
        return str(_lt("Connection OK (credentials accepted by OVH)."))

    # -- delivery reports -----------------------------------------------------
    def parse_delivery_report(self, payload, headers=None):
        """OVH calls the callback URL with ``id`` (the SMS id) and ``ptt``."""
        payload = payload if isinstance(payload, dict) else {}
        sms_id = str(payload.get("id") or "").strip()
        try:
            ptt = int(str(payload.get("ptt")).strip())
        except (TypeError, ValueError):
            ptt = None
        if not sms_id or ptt is None or ptt < 0:
            raise ValueError(f"OVH delivery report: missing or invalid id/ptt in {payload!r}")
        extra = {k: payload[k] for k in ("ptt", "date", "description", "to") if payload.get(k) not in (None, "")}
        if ptt == OVH_PTT_DELIVERED:
            return [DeliveryReport(sms_id, "sent", extra=extra)]
        if ptt < OVH_PTT_DELIVERED:
            return [DeliveryReport(sms_id, "pending", extra=extra)]
        description = str(payload.get("description") or "").strip()
        message = f"OVH ptt {ptt}" + (f": {description}" if description else "")
        return [DeliveryReport(sms_id, "error", "sms_not_delivered", message, extra)]

    # -- replies ----------------------------------------------------------------
    def parse_inbound(self, payload, headers=None):
        """The replies callback of an SMS account (a URL set on the account's "SMS responses", called for the
        answers to SMS sent from a short number or a sender for response): ``id`` (the reply's id),
        ``senderid`` (the phone, ``0033...`` or ``+33...``), ``message``, ``shortcode``, ``tag``, ``date``."""
        payload = payload if isinstance(payload, dict) else {}
        reply_id = str(payload.get("id") or "").strip()
        number = inbound_number(payload.get("senderid"))
        if not reply_id or not number or "message" not in payload:
            raise ValueError("OVH SMS reply: id, senderid or message missing")
        return [
            InboundSms(
                number,
                str(payload.get("message") or ""),
                reply_id,
                to=payload.get("shortcode"),
                date=payload.get("date"),
            )
        ]
