"""ASPSMS (json.aspsms.com) connector.

One ``SendTextSMS`` call carries one text for up to 1000 recipients, each
written ``"<number>:<our ref>"`` so that our reference is ASPSMS's
TransactionReferenceNumber: it is the provider id of the message, used by the
delivery notifications (pushed to ``dlr_url`` when configured, or pulled with
``InquireDeliveryNotifications``).

Doc facts relied on (json.aspsms.com's published method list and
/work/shared/providers.md section 9; hitobito's and wp-sms's ASPSMS clients):
success is ``{"StatusCode": "1", "StatusInfo": "OK"}``; documented errors are
StatusCode 3 (authorization failed), 5 (not enough credits), 10 (originator
too long), 30 (originator not authorised). ASPSMS publishes no code for an
invalid recipient: a refusal is classified by its words (``StatusInfo``, or
the ``Message``/``ModelState`` of an HTTP 400 of its ASP.NET API) before the
code table, English, French or German. A batch call with one invalid
recipient is refused as a whole (nothing sent): the recipient(s) named are
failed alone and the others sent again in one call (one call per recipient
when none is named). Some clients (wp-sms) take ``StatusInfo == "OK"`` as a
success whatever the code: such a contradictory answer is not resent but
left uncertain (ASPSMS can be asked, ``lookup``).
"""

import json
import re
import urllib.parse

from .base import DeliveryReport, ProviderError, SendResult, SmsProvider, _lt, required
from .failures import FAILURE_ACCOUNT, FAILURE_CREDIT, FAILURE_NUMBER, FAILURE_SERVER, FAILURE_UNCERTAIN

# Words of ASPSMS's StatusInfo -> failure type (first match wins), read before the code table.
ASPSMS_WORDS = [
    (re.compile(r"cr[eé]dit|guthaben|balance|solde", re.IGNORECASE), FAILURE_CREDIT),
    (re.compile(r"originator|sender|absender|exp[eé]diteur", re.IGNORECASE), FAILURE_ACCOUNT),
    (
        re.compile(r"recipient|receiver|destinataire|empf[aä]nger|number|num[eé]ro|nummer|phone", re.IGNORECASE),
        FAILURE_NUMBER,
    ),
    (
        re.compile(
            r"authori[sz]|userkey|password|passwort|mot de passe|account|compte|konto|suspend|gesperrt|bloqu|disabled",
            re.IGNORECASE,
        ),
        FAILURE_ACCOUNT,
    ),
]

# StatusCode -> failure type when the words say nothing (anything else is a transient server error).
ASPSMS_ERRORS = {
    "3": FAILURE_ACCOUNT,  # Authorization failed
    "5": FAILURE_CREDIT,  # Not enough credits
    "10": FAILURE_ACCOUNT,  # Originator too long: account configuration
    "30": FAILURE_ACCOUNT,  # Originator not authorised: account configuration
}

# DeliveryStatus of InquireDeliveryNotifications.
ASPSMS_DELIVERED = "0"
ASPSMS_BUFFERED = "1"
ASPSMS_NOT_DELIVERED = "2"
ASPSMS_NOT_SUBMITTED = "-1"  # not yet submitted, or rejected (then with a reason code)

# ``status`` values of the push notification URLs we give ASPSMS.
PUSH_STATUSES = {
    "delivered": ("sent", None),
    "buffered": ("pending", None),
    "not_delivered": ("error", "sms_not_delivered"),
}


class AspsmsProvider(SmsProvider, code="aspsms", label="ASPSMS"):
    default_base_url = "https://json.aspsms.com"
    batch_size = 1000
    has_balance = has_delivery_reports = has_lookup = True
    credential_labels = {"username": required("UserKey"), "password": required("Password"), "sender": "Originator"}
    # How many references one InquireDeliveryNotifications call asks about.
    inquire_chunk_size = 500

    def _auth(self):
        return {"UserName": self.config.get("username") or "", "Password": self.config.get("password") or ""}

    def _post(self, endpoint, payload):
        """POST a JSON payload; return (data dict, None) or (None, (failure type, message))."""
        response, error = self._request(
            "POST",
            self._url(endpoint),
            # MessageText goes as UTF-8, not as \u escapes
            data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
        if error:
            return None, (self.failure_type_of(error), error)
        data = self._json(response)
        if response.status_code != 200:
            return None, self._http_refusal(response, data)
        if not isinstance(data, dict) or "StatusCode" not in data:
            return None, self._unexpected_failure(response)
        code = str(data.get("StatusCode")).strip()
        info = " ".join(str(data.get("StatusInfo") or "").split())
        if code != "1":
            message = f"{info} (StatusCode {code})" if info else f"StatusCode {code}"
            if info.upper() == "OK":
                # "OK" with another code: some clients read it as sent; resending could send twice
                return None, (FAILURE_UNCERTAIN, self._unexpected(response))
            return None, (self._classify(code, info), message)
        return data, None

    @staticmethod
    def _classify(code, words):
        for pattern, failure_type in ASPSMS_WORDS:
            if pattern.search(words or ""):
                return failure_type
        return ASPSMS_ERRORS.get(code, FAILURE_SERVER)

    def _http_refusal(self, response, data):
        """An HTTP error status: ASPSMS's ASP.NET API answers a refused request 400 with ``Message`` and
        ``ModelState`` (``{"Recipients[1]": [...]}``); its words are read, the status alone is transient."""
        if not isinstance(data, dict) or not 400 <= response.status_code < 500:
            return FAILURE_SERVER, self._http_error(response)
        parts = [str(data.get(key) or "") for key in ("Message", "StatusInfo", "ExceptionMessage")]
        model_state = data.get("ModelState")
        if isinstance(model_state, dict):
            for field, errors in model_state.items():
                errors = errors if isinstance(errors, list) else [errors]
                parts.append(f"{field}: {' '.join(str(e) for e in errors)}")
        words = " ".join(" ".join(parts).split())
        failure_type = self._classify(None, words)
        if not words or failure_type == FAILURE_SERVER:
            return FAILURE_SERVER, self._http_error(response) + (f": {words[:200]}" if words else "")
        return failure_type, f"{words[:300]} (HTTP {response.status_code})"

    def _notification_urls(self):
        """URL* parameters of SendTextSMS when a push URL is configured."""
        dlr_url = self.config.get("dlr_url")
        if not dlr_url:
            return {}
        separator = "&" if "?" in dlr_url else "?"
        urls = {}
        for field, status in (
            ("URLDeliveryNotification", "delivered"),
            ("URLNonDeliveryNotification", "not_delivered"),
            ("URLBufferedMessageNotification", "buffered"),
        ):
            query = urllib.parse.urlencode({"status": status})
            urls[field] = f"{dlr_url}{separator}{query}&ref=<TransactionReferenceNumber>&rcpnt=<RCPNT>&scts=<SCTSUTC>"
        return urls

    # -- sending ------------------------------------------------------------
    def send(self, messages):
        # One call per distinct (text, encoding): ASPSMS has one MessageText per call.
        groups = {}
        for message in messages:
            groups.setdefault((message.body, bool(message.unicode)), []).append(message)
        results = []
        for (body, unicode), group in groups.items():
            results.extend(self._send_group(body, unicode, group))
        return results

    def _send_group(self, body, unicode, messages):
        payload = {
            **self._auth(),
            "Recipients": [f"{m.number}:{m.ref}" for m in messages],
            "MessageText": body,
            "ForceGSM7bit": not unicode,
            **self._notification_urls(),
        }
        if self.config.get("sender"):
            payload["Originator"] = self.config["sender"]
        _data, error = self._post("SendTextSMS", payload)
        if error:
            if error[0] == FAILURE_NUMBER and len(messages) > 1:
                return self._isolate_refused_numbers(body, unicode, messages, error)
            return self.fail_all(messages, *error)
        return [SendResult(m.ref, provider_id=m.ref) for m in messages]

    def _isolate_refused_numbers(self, body, unicode, messages, error):
        """ASPSMS refused the whole call because of a recipient: nothing was sent. The recipients its
        words name fail (``sms_number_format``, never retried) and the others are sent again in one call;
        when none is named, one call per recipient finds the culprit(s)."""
        named = [m for index, m in enumerate(messages) if self._names_recipient(error[1], m.number, index)]
        if not named:
            results = []
            for message in messages:
                results.extend(self._send_group(body, unicode, [message]))
            return results
        others = [m for m in messages if m not in named]
        results = self.fail_all(named, *error)
        if others:
            results.extend(self._send_group(body, unicode, others))
        return results

    @staticmethod
    def _names_recipient(text, number, index):
        """Whether ``text`` names ``number`` (its digits) or the recipient at ``index`` (``Recipients[i]``)."""
        digits = re.sub(r"\D", "", number or "")
        found = re.findall(r"\+?\d[\d .-]{6,}\d", text or "")
        if any(re.sub(r"\D", "", f).lstrip("0") == digits.lstrip("0") for f in found):
            return True
        return bool(re.search(rf"Recipients\[{index}\]", text or ""))

    # -- account ------------------------------------------------------------
    def get_balance(self):
        data, error = self._post("CheckCredits", self._auth())
        if error:
            raise ProviderError(error[1], error[0])
        try:
            return float(str(data.get("Credits")).strip())
        except (TypeError, ValueError):
            raise ProviderError(
                str(_lt("Unexpected answer from provider: Credits=%(credits)r", credits=data.get("Credits")))
            ) from None

    # -- delivery reports -----------------------------------------------------
    def parse_delivery_report(self, payload, headers=None):
        """Parse the query of a push notification URL built by
        ``_notification_urls`` (``status``, ``ref``, ``rcpnt``, ``scts``)."""
        if not isinstance(payload, dict):
            raise ValueError("ASPSMS notification: expected a dict of URL parameters")
        ref = str(payload.get("ref") or payload.get("TransactionReferenceNumber") or "").strip()
        status = str(payload.get("status") or "").strip().lower()
        if not ref or ref.startswith("<") or status not in PUSH_STATUSES:
            raise ValueError(f"ASPSMS notification: missing or invalid ref/status in {payload!r}")
        state, failure_type = PUSH_STATUSES[status]
        extra = {k: payload[k] for k in ("rcpnt", "scts") if payload.get(k)}
        return [DeliveryReport(ref, state, failure_type=failure_type, extra=extra)]

    def fetch_delivery_reports(self, provider_ids, since=None):
        """Pull the status of ``provider_ids`` (our references) with
        InquireDeliveryNotifications (``since`` is not needed). Raise
        ProviderError when a call fails."""
        reports = []
        ids = [str(i) for i in provider_ids if i]
        for start in range(0, len(ids), self.inquire_chunk_size):
            for notification in self._inquire(ids[start : start + self.inquire_chunk_size]):
                report = self._notification_report(notification)
                if report:
                    reports.append(report)
        return reports

    # -- crash recovery -------------------------------------------------------
    def lookup(self, messages):
        """Our reference is the TransactionReferenceNumber: InquireDeliveryNotifications tells whether ASPSMS
        has each message. A reference it knows (any DeliveryStatus, "-1" not yet submitted included) -> our
        reference, the provider id of the message; a reference it leaves out of ``DeliveryNotifications``
        (its answer for a reference it never got) -> False. Raise ProviderError when a call fails."""
        refs = [m.ref for m in messages if m.ref]
        found = {}
        for start in range(0, len(refs), self.inquire_chunk_size):
            chunk = refs[start : start + self.inquire_chunk_size]
            known = {
                str(notification.get("TransactionReferenceNumber") or "").strip()
                for notification in self._inquire(chunk)
                if isinstance(notification, dict)
            }
            found.update({ref: ref if ref in known else False for ref in chunk})
        return found

    def _inquire(self, refs):
        """DeliveryNotifications of ``refs``; raise ProviderError when the call fails."""
        data, error = self._post(
            "InquireDeliveryNotifications", {**self._auth(), "TransactionReferenceNumbers": ";".join(refs)}
        )
        if error:
            raise ProviderError(error[1], error[0])
        notifications = data.get("DeliveryNotifications") or []
        if not isinstance(notifications, list):
            raise ProviderError(str(_lt("Unexpected answer from provider: DeliveryNotifications is not a list")))
        return notifications

    @staticmethod
    def _notification_report(notification):
        if not isinstance(notification, dict):
            return None
        ref = str(notification.get("TransactionReferenceNumber") or "").strip()
        if not ref:
            return None
        status = str(notification.get("DeliveryStatus", "")).strip()
        reason = str(notification.get("Reasoncode") or "").strip()
        description = (
            " ".join(
                part
                for part in (
                    str(notification.get("DeliveryStatusDescription") or "").strip(),
                    str(notification.get("ReasoncodeDescription") or "").strip(),
                )
                if part
            )
            or None
        )
        extra = {k: notification[k] for k in ("SubmissionDate", "NotificationDate", "Reasoncode") if k in notification}
        if status == ASPSMS_DELIVERED:
            return DeliveryReport(ref, "sent", extra=extra)
        if status == ASPSMS_BUFFERED:
            return DeliveryReport(ref, "pending", error_message=description, extra=extra)
        if status == ASPSMS_NOT_DELIVERED:
            return DeliveryReport(ref, "error", "sms_not_delivered", description, extra)
        if status == ASPSMS_NOT_SUBMITTED and reason and reason != "0":
            return DeliveryReport(ref, "error", "sms_rejected", description, extra)
        return DeliveryReport(ref, "pending", error_message=description, extra=extra)
