"""SFR Business DMC connector (JsonService API).

``.../DmcWS/<version>/JsonService/MessagesUnitairesWS/addSingleCall`` with two
parameters, each a JSON string: ``authenticate`` (``serviceId``,
``servicePassword``, ``spaceId``) and ``messageUnitaire`` (``media``,
``textMsg``, ``to``, ``from``). Failures come back with HTTP 200 and
``"success": false``, so ``success`` is always checked. The ``response`` of a
success is the message id, which the "pushcra" delivery reports carry as
``Call_id`` and the pulled ``getSingleCallCra`` reports as ``ID``.

Doc facts relied on (providers.md §5; SFR's DMC API workshop PDF as quoted by actionpopulaire's and Apprise's
SFR clients): one recipient per ``addSingleCall`` (no batch, so a bad number never holds others back); the only
published error is ``{"success":false,"errorCode":"AUTHENTICATION_FAILED","errorDetail":"Authentification
échouée"}`` (HTTP 200); the buffer API (DmcBufferWS) answers plain text ``OK`` or ``KO<code:{detail}>``
(``KO<authentication_failed:{null}>``, ``KO<Invalid JSON:{null}>``...). The other codes are not public, so the
words of ``errorDetail`` (French or English) are read before the code: credit/solde -> no credit, the
recipient (numéro, téléphone, destinataire, the ``to`` field) -> that number refused, authentication/password/
account -> account; then the code; anything else is a refusal (safe to retry). A plain-text ``KO``/``ERROR``
answer is a refusal read the same way, never a success.
"""

import csv
import io
import json
import re
from datetime import datetime, timedelta

from lxml import etree

from .base import PLAIN_REFUSAL, DeliveryReport, ProviderError, SendResult, SmsProvider, _lt, credit_message, required
from .failures import FAILURE_ACCOUNT, FAILURE_CREDIT, FAILURE_NUMBER, FAILURE_SERVER

SFR_ERRORS = {"AUTHENTICATION_FAILED": FAILURE_ACCOUNT}
# the words of an errorDetail (or of a KO<code:{detail}> answer) -> failure type, first match wins, read before
# the code
SFR_DETAIL_PATTERNS = [
    (re.compile(r"cr[ée]dit|solde|balance|insufficient funds|fonds insuffisants", re.IGNORECASE), FAILURE_CREDIT),
    (
        re.compile(
            r"num[ée]ro|number|destinataire|recipient|msisdn|t[ée]l[ée]phone|phone|mobile"
            r"|['\"«]\s*to\s*['\"»]|\(to\)|\bto\s*[:=]"
            r"|(?:param(?:eter|[èe]tre)?s?|field|champ)(?:\s+invalides?)?\s*[:'\"«]?\s*to\b",
            re.IGNORECASE,
        ),
        FAILURE_NUMBER,
    ),
    (
        re.compile(
            r"authentifi|authentication|identifiants?\b|mot de passe|password|compte|account|suspen|bloqu"
            r"|d[ée]sactiv|disabled|expir",
            re.IGNORECASE,
        ),
        FAILURE_ACCOUNT,
    ),
]
# a plain-text answer: KO<code:{detail}> (DmcBufferWS), or a bare KO/ERROR
BUFFER_KO_RE = re.compile(r"^KO\s*<\s*([^:>]*?)\s*(?::\s*\{(.*)\})?\s*>", re.IGNORECASE | re.DOTALL)


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
# getSingleCallCra: CSV (``;``) with an ``ID`` column; the status column's name is not public either, so the
# first of these present is read (``sfr_cra_id_column`` / ``sfr_cra_status_column`` in the advanced settings
# name them when SFR's differ).
CRA_ID_COLUMNS = ("id", "call_id", "callid", "id_call", "idcall")
CRA_STATUS_COLUMNS = ("statut", "status", "etat", "état", "statut_cra", "cra", "code_cra", "resultat", "résultat")
CRA_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
CRA_DEFAULT_DAYS = 3
CRA_MAX_PAGES = 20
# Odoo delivery failure types a ``sfr_cra_statuses`` entry may map a status to (besides "sent" and "pending").
DELIVERY_FAILURES = ("sms_not_delivered", "sms_expired", "sms_rejected", "sms_invalid_destination")
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


class SfrDmcProvider(SmsProvider, code="sfr_dmc", label="SFR Business DMC"):
    default_base_url = "https://www.dmc.sfr-sh.fr/DmcWS/1.5.8/JsonService"
    has_delivery_reports = True
    credential_labels = {
        "service_id": required("serviceId"),
        "password": required("servicePassword"),
        "space_id": required("spaceId"),
        "sender": "from (OADC)",
    }

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

    def send_one(self, message):
        unitaire = {"media": self.media(message), "textMsg": message.body, "to": message.number}
        if self.config.get("sender"):
            unitaire["from"] = self.config["sender"]
        params = {
            "authenticate": json.dumps(self._authenticate(), ensure_ascii=False),
            "messageUnitaire": json.dumps(unitaire, ensure_ascii=False),
        }
        response, error = self._call("addSingleCall", params)
        if error:
            return self.failed(message, error)
        if response.status_code != 200:
            return self.failed(message, self._http_error(response))
        data = self._json(response)
        if data is None:
            refusal = self._plain_refusal(response)
            if refusal:
                return self.failed(message, *refusal)
        if not isinstance(data, dict) or not isinstance(data.get("success"), bool):
            return self.failed(message, self._unexpected(response))
        if data["success"]:
            provider_id = data.get("response")
            if provider_id in (None, "") or isinstance(provider_id, (dict, list, bool)):
                return self.failed(message, self._unexpected(response))
            return SendResult(message.ref, provider_id=str(provider_id).strip())
        code = str(data.get("errorCode") or "").strip()
        detail = " ".join(str(data.get("errorDetail") or "").split())
        if not code and not detail:
            return self.failed(message, self._unexpected(response), FAILURE_SERVER)
        return self.failed(message, *self._error(code, detail))

    @classmethod
    def _error(cls, code, detail):
        """``(message, failure type)`` of a refusal with ``code`` and ``detail`` (either may be empty)."""
        error_message = f"{detail} ({code})" if detail and code else (detail or code)
        failure_type = cls._failure_type(code, detail)
        if failure_type == FAILURE_CREDIT:
            error_message = credit_message(error_message)
        return error_message, failure_type

    @classmethod
    def _plain_refusal(cls, response):
        """``(message, failure type)`` of a plain-text refusal (``KO<code:{detail}>``, ``KO``, ``ERROR``...), or
        None when the body is no such refusal."""
        if "html" in (response.headers.get("Content-Type") or "").lower():
            return None
        text = " ".join(cls._text(response).split())
        match = BUFFER_KO_RE.match(text)
        if match:
            code, detail = match.group(1).strip(), (match.group(2) or "").strip()
            if detail.lower() == "null":
                detail = ""
            failure_type = cls._failure_type(code.upper().replace(" ", "_"), f"{code} {detail}")
            message = text[:200]
            return (credit_message(message) if failure_type == FAILURE_CREDIT else message), failure_type
        if PLAIN_REFUSAL.match(text):
            failure_type = cls._failure_type("", text)
            message = text[:200]
            return (credit_message(message) if failure_type == FAILURE_CREDIT else message), failure_type
        return None

    @staticmethod
    def _failure_type(code, detail=""):
        """The failure type of an error: the words of ``detail`` first, then ``code``."""
        for pattern, failure_type in SFR_DETAIL_PATTERNS:
            if detail and pattern.search(detail):
                return failure_type
        code = code.upper()
        if code in SFR_ERRORS:
            return SFR_ERRORS[code]
        # Codes other than AUTHENTICATION_FAILED are not public: recognise the obvious ones.
        if "CREDIT" in code or "BALANCE" in code or "SOLDE" in code:
            return FAILURE_CREDIT
        if re.search(r"NUMBER|NUMERO|PHONE|MSISDN|DESTINAT|(^|_)TO(_|$)", code):
            return FAILURE_NUMBER
        if re.search(r"AUTH|PASSWORD|ACCOUNT|COMPTE|SUSPEND", code):
            return FAILURE_ACCOUNT
        return FAILURE_SERVER

    def _call(self, endpoint, params):
        """One call with the account's HTTP method; return ``(response, None)`` or ``(None, message)``."""
        url = self._url(f"MessagesUnitairesWS/{endpoint}")
        if (self.config.get("http_method") or "POST").upper() == "GET":
            return self._request("GET", url, params=params)
        return self._request(
            "POST", url, data=params, headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"}
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
        state, failure_type = _status_outcome(status)
        extra = {k: item[k] for k in PUSHCRA_FIELDS if k in item and k not in ("Call_id", "Status")}
        extra["status"] = status
        return DeliveryReport(call_id, state, failure_type, status if state == "error" else None, extra)

    # -- delivery reports (pull: getSingleCallCra) ----------------------------------
    def fetch_delivery_reports(self, provider_ids, since=None):
        """Pull the reports ("CRA") of ``provider_ids`` with ``getSingleCallCra``: every report since
        ``dSince`` (``since``, the oldest SMS asked about, less a day for time zones; else
        ``sfr_cra_days`` days ago) and after ``idSince`` (the smallest id asked about less one, then the
        last id read: one call per page, at most ``sfr_cra_max_pages``). Only the reports of
        ``provider_ids`` are returned. Raise ProviderError when a call fails or the CSV cannot be read."""
        wanted = {str(i).strip() for i in provider_ids if i}
        if not wanted:
            return []
        if since is None:
            since = datetime.now() - timedelta(days=self._int_setting("sfr_cra_days", CRA_DEFAULT_DAYS))
        else:
            since -= timedelta(days=1)
        numeric = [int(i) for i in wanted if i.isdigit()]
        id_since = min(numeric) - 1 if numeric and len(numeric) == len(wanted) else None
        reports, seen = [], set()
        for _page in range(self._int_setting("sfr_cra_max_pages", CRA_MAX_PAGES)):
            params = {
                "authenticate": json.dumps(self._authenticate(), ensure_ascii=False),
                "dSince": since.strftime(self.config.get("sfr_cra_date_format") or CRA_DATE_FORMAT),
            }
            if id_since is not None:
                params["idSince"] = str(id_since)
            rows = self._cra_rows(*self._call("getSingleCallCra", params))
            page_ids = []
            for call_id, status in rows:
                page_ids.append(call_id)
                if call_id in wanted:
                    seen.add(call_id)
                    state, failure_type = self._cra_outcome(status)
                    message = status if state == "error" else None
                    reports.append(DeliveryReport(call_id, state, failure_type, message, {"status": status}))
            last = max((int(i) for i in page_ids if i.isdigit()), default=None)
            if seen >= wanted or last is None or id_since is None or last <= id_since:
                break
            id_since = last  # next page
        return reports

    def _int_setting(self, name, default):
        try:
            return max(1, int(self.config.get(name) or default))
        except (TypeError, ValueError):
            return default

    def _cra_rows(self, response, error):
        """[(ID, status)] of a getSingleCallCra answer: CSV as the body, or as the ``response`` of a JSON
        success. Raise ProviderError for an error or an answer that cannot be read."""
        if error:
            raise ProviderError(error)
        if response.status_code != 200:
            raise ProviderError(self._http_error(response))
        try:  # CSV is often served without a charset (requests would read it as Latin-1)
            text = response.content.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = response.content.decode("cp1252", "replace")
        text = text.strip()
        if text.startswith(("{", "[")):
            data = self._json(response)
            if not isinstance(data, dict) or not isinstance(data.get("success"), bool):
                raise ProviderError(self._unexpected(response))
            if not data["success"]:
                code = str(data.get("errorCode") or "").strip()
                detail = " ".join(str(data.get("errorDetail") or "").split())
                raise ProviderError(*self._error(code, detail))
            text = data.get("response") or ""
            if not isinstance(text, str):
                raise ProviderError(self._unexpected(response))
            text = text.lstrip("\ufeff").strip()
        if not text:
            return []  # no report since dSince / idSince
        lines = list(csv.reader(io.StringIO(text), delimiter=";"))
        header = [_column_key(name) for name in lines[0]]
        id_index = self._cra_column(header, "sfr_cra_id_column", CRA_ID_COLUMNS)
        status_index = self._cra_column(header, "sfr_cra_status_column", CRA_STATUS_COLUMNS)
        if id_index is None or status_index is None:
            column = "ID" if id_index is None else str(_lt("status"))
            raise ProviderError(
                str(
                    _lt(
                        "SFR getSingleCallCra: no %(column)s column in %(header)s (set it in the advanced settings)",
                        column=column,
                        header=";".join(lines[0])[:200],
                    )
                )
            )
        rows = []
        for line in lines[1:]:
            if len(line) > max(id_index, status_index) and line[id_index].strip():
                rows.append((line[id_index].strip(), line[status_index].strip()))
        return rows

    def _cra_column(self, header, setting, candidates):
        configured = self.config.get(setting)
        for name in [configured] if configured else candidates:
            key = _column_key(name)
            if key in header:
                return header.index(key)
        return None

    def _cra_outcome(self, status):
        """(state, failure type) of a CRA status: ``sfr_cra_statuses`` ({status: "sent" | "pending" | a
        delivery failure type}) first, then the words of the status; unknown -> pending (nothing changes)."""
        mapping = self.config.get("sfr_cra_statuses")
        if isinstance(mapping, dict):
            mapped = {str(k).strip().lower(): str(v).strip() for k, v in mapping.items()}.get(status.lower())
            if mapped in ("sent", "pending"):
                return mapped, None
            if mapped in DELIVERY_FAILURES:
                return "error", mapped
        return _status_outcome(status)


def _column_key(name):
    return str(name or "").strip().lower().replace(" ", "_")


def _status_outcome(status):
    """(state, failure type) read from the words of an SFR status; pending when none matches."""
    for pattern, outcome in SFR_DLR_PATTERNS:
        if re.search(pattern, status, re.IGNORECASE):
            return outcome
    return "pending", None
