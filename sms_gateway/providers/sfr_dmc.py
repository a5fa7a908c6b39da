"""SFR Business DMC connector (JsonService API).

``.../DmcWS/<version>/JsonService/MessagesUnitairesWS/addSingleCall`` with two
parameters, each a JSON string: ``authenticate`` (``serviceId``,
``servicePassword``, ``spaceId``) and ``messageUnitaire`` (``media``,
``textMsg``, ``to``, ``from``). Failures come back with HTTP 200 and
``"success": false``, so ``success`` is always checked. The ``response`` of a
success is the message id, which the "pushcra" delivery reports carry as
``Call_id``.
"""

import json
import re
from typing import ClassVar

from lxml import etree

from .base import (
    FAILURE_ACCOUNT,
    FAILURE_CREDIT,
    FAILURE_NUMBER,
    FAILURE_SERVER,
    FAILURE_UNKNOWN,
    DeliveryReport,
    ProviderError,
    SendResult,
    SmsProvider,
    _lt,
    register,
)

SFR_ERRORS = {"AUTHENTICATION_FAILED": FAILURE_ACCOUNT}

# pushcra ``Status`` words (French or English; the exact list is not public)
# -> (Odoo state, delivery failure type), first match wins.
SFR_DLR_PATTERNS = [
    (r"non[\s_-]*(distribu|d[eé]livr|remis)|undeliver|not[\s_-]*deliver", ("error", "sms_not_delivered")),
    (r"expir", ("error", "sms_expired")),
    (r"rejet|reject|refus|blacklist", ("error", "sms_rejected")),
    (r"invalid|inconnu|inexistant|incorrect", ("error", "sms_invalid_destination")),
    (r"[eé]chec|fail|erreur|error|\bko\b", ("error", "sms_not_delivered")),
    (r"distribu|d[eé]livr|deliver|re[cç]u|remis|\bok\b", ("sent", None)),
    (r"cours|attente|pending|envoy|sent|submit|accept|buffer|queue|transmis", ("pending", None)),
]
PUSHCRA_FIELDS = (
    "Username",
    "Media",
    "To",
    "Status",
    "Call_id",
    "Broadcast_id",
    "Contact_id",
    "Ref_externe",
    "Space_id",
    "Date",
)


@register
class SfrDmcProvider(SmsProvider):
    code = "sfr_dmc"
    label = "SFR Business DMC"
    default_base_url = "https://www.dmc.sfr-sh.fr/DmcWS/1.5.8/JsonService"
    batch_size = 1
    has_balance = False
    has_delivery_reports = True
    credential_labels: ClassVar[dict] = {
        "service_id": "serviceId",
        "password": "servicePassword",
        "space_id": "spaceId",
        "sender": "from (OADC)",
    }
    required_credentials = ("service_id", "password", "space_id")

    @staticmethod
    def media(message):
        """``SMS``, ``SMSLong``, ``SMSUnicode`` or ``SMSUnicodeLong``."""
        return ("SMSUnicode" if message.unicode else "SMS") + ("Long" if (message.segments or 1) > 1 else "")

    def _authenticate(self):
        auth = {
            "serviceId": self.config.get("service_id") or "",
            "servicePassword": self.config.get("password") or "",
            "spaceId": self.config.get("space_id") or "",
        }
        if self.config.get("lang"):
            auth["lang"] = self.config["lang"]
        return auth

    def send(self, messages):
        return [self._send_one(message) for message in messages]

    def _send_one(self, message):
        unitaire = {"media": self.media(message), "textMsg": message.body, "to": message.number}
        if self.config.get("sender"):
            unitaire["from"] = self.config["sender"]
        params = {
            "authenticate": json.dumps(self._authenticate(), ensure_ascii=False),
            "messageUnitaire": json.dumps(unitaire, ensure_ascii=False),
        }
        url = self._url("MessagesUnitairesWS/addSingleCall")
        if (self.config.get("http_method") or "POST").upper() == "GET":
            response, error = self._request("GET", url, params=params)
        else:
            response, error = self._request(
                "POST",
                url,
                data=params,
                headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"},
            )
        if error:
            return SendResult(message.ref, failure_type=FAILURE_SERVER, error_message=error)
        if response.status_code != 200:
            return SendResult(message.ref, failure_type=FAILURE_SERVER, error_message=self._http_error(response))
        data = self._json(response)
        if not isinstance(data, dict) or not isinstance(data.get("success"), bool):
            return SendResult(message.ref, failure_type=FAILURE_SERVER, error_message=self._unexpected(response))
        if data["success"]:
            provider_id = data.get("response")
            if provider_id in (None, "") or isinstance(provider_id, (dict, list, bool)):
                return SendResult(message.ref, failure_type=FAILURE_SERVER, error_message=self._unexpected(response))
            return SendResult(message.ref, provider_id=str(provider_id).strip())
        code = str(data.get("errorCode") or "").strip()
        detail = str(data.get("errorDetail") or "").strip()
        return SendResult(
            message.ref,
            failure_type=self._failure_type(code),
            error_message=f"{detail} ({code})" if detail and code else (detail or code or self._unexpected(response)),
        )

    @staticmethod
    def _failure_type(code):
        if code in SFR_ERRORS:
            return SFR_ERRORS[code]
        # Codes other than AUTHENTICATION_FAILED are not public: recognise the obvious ones.
        if "CREDIT" in code or "BALANCE" in code or "SOLDE" in code:
            return FAILURE_CREDIT
        if re.search(r"NUMBER|NUMERO|PHONE|MSISDN|DESTINAT|(^|_)TO(_|$)", code):
            return FAILURE_NUMBER
        return FAILURE_SERVER

    def test_connection(self):
        raise ProviderError(
            str(_lt("SFR DMC has no balance or account call: the credentials can only be tested by sending an SMS.")),
            FAILURE_UNKNOWN,
        )

    # -- delivery reports (pushcra) -----------------------------------------------
    def parse_delivery_report(self, payload, headers=None):
        """Parse a pushcra POST: a dict (JSON or form), a list of them, or the
        raw JSON/XML body (str or bytes)."""
        if isinstance(payload, (bytes, str)):
            payload = self._decode_pushcra(payload)
        items = payload if isinstance(payload, list) else [payload]
        if not items:
            raise ValueError("SFR pushcra: empty report")
        return [self._pushcra_report(item) for item in items]

    @staticmethod
    def _decode_pushcra(raw):
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        text = text.strip()
        if text.startswith(("{", "[")):
            return json.loads(text)  # a JSONDecodeError is a ValueError
        if not text.startswith("<"):
            raise ValueError("SFR pushcra: neither JSON nor XML")
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
        try:
            root = etree.fromstring(text.encode(), parser=parser)
        except etree.XMLSyntaxError as e:
            raise ValueError(f"SFR pushcra: invalid XML ({e})") from None
        records = [root] if root.find("Call_id") is not None else [child for child in root if len(child)]
        return [{child.tag: (child.text or "").strip() for child in record if len(child) == 0} for record in records]

    @staticmethod
    def _pushcra_report(item):
        if not isinstance(item, dict):
            raise ValueError("SFR pushcra: expected an object per report")
        lowered = {str(k).lower(): v for k, v in item.items()}
        call_id = str(lowered.get("call_id") or "").strip()
        status = str(lowered.get("status") or "").strip()
        if not call_id or not status:
            raise ValueError(f"SFR pushcra: Call_id or Status missing in {item!r}")
        state, failure_type = "pending", None
        for pattern, outcome in SFR_DLR_PATTERNS:
            if re.search(pattern, status, re.IGNORECASE):
                state, failure_type = outcome
                break
        extra = {k: item[k] for k in PUSHCRA_FIELDS if k in item and k not in ("Call_id", "Status")}
        extra["status"] = status
        return DeliveryReport(call_id, state, failure_type, status if state == "error" else None, extra)
