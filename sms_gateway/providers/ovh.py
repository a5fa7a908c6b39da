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
241 sender not found, 401 authentication) are coarse, so an error is
classified by status (241, 401: account) and by the words of its message
(credit / login, password, account / receiver, number). When a call carrying
several numbers is refused because of a number, nothing was sent and the
numbers are retried one per call to find the culprit.

OVH has no balance call in http2sms: ``last_balance`` holds the
``creditLeft`` of the last answer that carried one.
"""

import re

from .base import DeliveryReport, ProviderError, SendResult, SmsProvider, _lt, required
from .failures import FAILURE_ACCOUNT, FAILURE_CREDIT, FAILURE_NUMBER, FAILURE_SERVER, FAILURE_UNKNOWN

HTTP2SMS_PATH = "/cgi-bin/sms/http2sms.cgi"
OVH_SUCCESS = {100, 101}
OVH_ACCOUNT_STATUSES = {241, 401}  # sender not found, authentication error

# Words of an error message -> failure type (first match wins).
OVH_ERROR_WORDS = [
    (re.compile(r"credit", re.IGNORECASE), FAILURE_CREDIT),
    (re.compile(r"login|password|account|unauthori[sz]ed|not allowed|forbidden", re.IGNORECASE), FAILURE_ACCOUNT),
    (re.compile(r"receiver|number|recipient", re.IGNORECASE), FAILURE_NUMBER),
]

# DLR ``ptt`` codes: 1/2 still at OVH, 3 accepted by the operator, 4 delivered,
# 5 and above: not delivered.
OVH_PTT_DELIVERED = 4


class OvhProvider(SmsProvider, code="ovh", label="OVHcloud SMS (http2sms)"):
    default_base_url = "https://www.ovh.com"
    batch_size = 500
    balance_in_answers = has_delivery_reports = True  # no balance call: see last_balance
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
        if status in OVH_ACCOUNT_STATUSES:
            return FAILURE_ACCOUNT
        for pattern, failure_type in OVH_ERROR_WORDS:
            if pattern.search(text or ""):
                return failure_type
        return FAILURE_SERVER

    def _call(self, params):
        """One http2sms call. Return ``(ids, None)`` on success or
        ``(None, (failure type, message))``."""
        response, error = self._request("GET", self._url(HTTP2SMS_PATH), params=params, allow_redirects=False)
        if error:
            return None, (self.failure_type_of(error), error)
        if response.status_code != 200:
            return None, self._unexpected_failure(response)
        data = self._json(response)
        if isinstance(data, dict) and "status" in data:
            return self._parse_json(data, response)
        return self._parse_text(response)

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
            if not isinstance(ids, list):
                return None, self._unexpected_failure(response)
            return [str(i) for i in ids], None
        text = " ".join(str(data.get("message") or "").split())
        message = f"{text} (OVH status {status})" if text else f"OVH status {status}"
        return None, (self._classify(status, text), message)

    def _parse_text(self, response):
        lines = [line.strip() for line in (response.text or "").splitlines()]
        if lines and lines[0] == "OK" and len(lines) >= 2:
            self._note_balance(lines[1])
            ids = [i for line in lines[2:] for i in re.split(r"[,;\s]+", line) if i]
            return ids, None
        if lines and lines[0] == "KO":
            text = " ".join(" ".join(lines[1:]).split())
            return None, (self._classify(None, text), text or "KO")
        return None, self._unexpected_failure(response)

    # -- sending ------------------------------------------------------------
    def send(self, messages):
        error = self.config_error()
        if error:
            return self.fail_all(messages, FAILURE_ACCOUNT, error)
        # One call per (text, encoding); a number appears at most once per call.
        groups = []
        open_groups = {}
        for message in messages:
            key = (message.body, bool(message.unicode))
            group = open_groups.get(key)
            if group is None or len(group) >= self.batch_size or any(m.number == message.number for m in group):
                group = open_groups[key] = []
                groups.append(group)
            group.append(message)
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
                # Nothing was sent: find the refused number(s) one by one.
                results = []
                for message in messages:
                    results.extend(self._send_group([message]))
                return results
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
