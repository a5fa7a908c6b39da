"""Generic HTTP connector, for gateways without a dedicated connector
(Bouygues resellers, SMS Factor, in-house gateways...).

Configuration (``self.config``):

* ``base_url`` (or ``generic_url``): the full URL of the send call;
* ``generic_method``: ``GET`` or ``POST`` (default POST);
* ``generic_body_format``: ``query``, ``form`` or ``json`` (default: query
  for GET, form for POST; GET only accepts query);
* ``generic_params``: a JSON object whose string values may contain the
  placeholders ``{to}`` (E.164), ``{to_digits}`` (without ``+``),
  ``{message}``, ``{sender}``, ``{ref}``, ``{unicode}`` (``1``/``0``),
  ``{username}``, ``{password}``, ``{api_key}``;
  e.g. ``{"to": "{to}", "text": "{message}", "sender": "{sender}"}``;
* ``generic_auth``: ``none``, ``basic`` (username/password), ``header``
  (``generic_auth_name``: api_key) or ``param`` (parameter
  ``generic_auth_name`` = api_key);
* ``generic_success_rule``: ``http`` (any 2xx), ``json:<dotted.path>==<value>``
  (``json:status==100``, ``json:StatusCode=="1"``; compared as text) or
  ``text:<prefix>`` (``text:OK``); always with a 2xx status;
* ``generic_message_id_path``: dotted JSON path of the provider's id
  (``smsIds.0``); without it our reference is the id.
* replies posted to the account's inbound URL (query, form or JSON): the
  field names (dotted paths in JSON) ``generic_inbound_from``,
  ``generic_inbound_text`` and ``generic_inbound_id`` in the account's
  extra settings; by default the first of ``from``/``msisdn``/``sender``/
  ``number``, of ``text``/``message``/``body`` and of ``id``/``messageId``/
  ``message_id`` found.

A refused message is classified by the gateway's own words first (its
``message``/``error``/``detail``... fields, or its text; English or French):
credit -> ``sms_credit``, recipient/number -> ``sms_number_format`` (never
retried), credentials/account -> ``sms_acc``; then by HTTP status (401/403
``sms_acc``, 402 ``sms_credit``); anything else is a transient ``sms_server``.
The gateway's own words are kept in the error message. A plain-text ``KO`` /
``ERROR`` answer is a refusal whatever the success rule (never an id), and a
2xx answer the rule cannot read (JSON without the rule's path, a text that is
neither the prefix nor an error) is uncertain: the gateway may have sent it.
A text answer without charset is read as UTF-8 when it is valid UTF-8 (HTTP's
ISO-8859-1 default would turn "crédit" into "crÃ©dit").

Doc facts relied on (/work/shared/providers.md section 13): SMS Factor
answers ``{status: 1, cost, credits}`` (``credits`` in every answer: the
words are read in the message fields only, not in every key), negative
statuses with a ``message`` for refusals; other gateways answer ``OK``/``KO``
texts or ``status==100`` JSON.
"""

import json
import re

from .base import NOT_AN_ID, InboundSms, ProviderError, SendResult, SmsProvider, _lt, inbound_number, required
from .failures import FAILURE_ACCOUNT, FAILURE_CREDIT, FAILURE_NUMBER, FAILURE_UNCERTAIN

# The first word of a plain-text refusal.
ERROR_WORDS = {"KO", "NOK", "ERROR", "ERR", "FAIL", "FAILED", "FAILURE", "ERREUR", "ECHEC", "ÉCHEC"}
# JSON keys whose values carry the gateway's words.
WORD_KEYS = re.compile(r"message|error|detail|description|info|reason|text|msg|erreur", re.IGNORECASE)
# The gateway's words -> failure type (first match wins), read before the HTTP status.
REFUSAL_WORDS = [
    (re.compile(r"cr[eé]dit|solde|balance|funds|payment required", re.IGNORECASE), FAILURE_CREDIT),
    (re.compile(r"sender|originator|exp[eé]diteur|[eé]metteur", re.IGNORECASE), FAILURE_ACCOUNT),
    (
        re.compile(
            r"recipient|receiver|destinataire|destination|number|num[eé]ro|phone|t[eé]l[eé]phone|msisdn",
            re.IGNORECASE,
        ),
        FAILURE_NUMBER,
    ),
    (
        re.compile(
            r"authori[sz]|authenti|credential|api.?key|token|login|password|account|forbidden|suspend|disabled"
            r"|identifiant|mot de passe|compte|bloqu|d[eé]sactiv",
            re.IGNORECASE,
        ),
        FAILURE_ACCOUNT,
    ),
]

PLACEHOLDERS = ("to", "to_digits", "message", "sender", "ref", "unicode", "username", "password", "api_key")
PLACEHOLDER_RE = re.compile(r"\{(\w+)\}")
METHODS = ("GET", "POST")
BODY_FORMATS = ("query", "form", "json")
AUTH_MODES = ("none", "basic", "header", "param")
JSON_RULE_RE = re.compile(r"^json:\s*([\w.\-]+)\s*==\s*(.+?)\s*$")
# The account's settings of this connector (config key = account field).
SETTINGS = (
    "generic_method",
    "generic_body_format",
    "generic_params",
    "generic_auth",
    "generic_auth_name",
    "generic_success_rule",
    "generic_message_id_path",
)
_MISSING = object()


def json_path(data, path):
    """``data`` followed along a dotted path (``smsIds.0``, ``result.id``);
    ``_MISSING`` when the path does not exist."""
    current = data
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and re.fullmatch(r"-?\d+", part) and -len(current) <= int(part) < len(current):
            current = current[int(part)]
        else:
            return _MISSING
    return current


def _as_text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# Where a reply's fields are looked for when the account names none.
INBOUND_DEFAULT_FIELDS = {
    "from": ("from", "msisdn", "sender", "number"),
    "text": ("text", "message", "body"),
    "id": ("id", "messageId", "message_id"),
}


class GenericHttpProvider(SmsProvider, code="generic_http", label="Generic HTTP gateway"):
    sequence = 90  # after the dedicated connectors
    has_inbound = True
    credential_labels = {
        "base_url": required("Full URL of the send call"),  # no default URL
        "username": "Username",
        "password": "Password",
        "api_key": "API key / token",
        "sender": "Sender",
    }
    account_fields = {name: name for name in SETTINGS}

    # -- configuration ----------------------------------------------------------
    def check_settings(self):
        self._settings()

    def _settings(self):
        """The validated settings; raise ProviderError (sms_acc) with a clear
        message when the configuration is unusable."""

        def bad(message):
            return ProviderError(message, FAILURE_ACCOUNT)

        url = (self.config.get("generic_url") or self.config.get("base_url") or "").strip()
        if not re.match(r"^https?://[^/\s]+", url):
            raise bad(str(_lt("Generic HTTP gateway: set the full URL (http:// or https://) of the send call")))
        method = (self.config.get("generic_method") or "POST").strip().upper()
        if method not in METHODS:
            raise bad(str(_lt("Generic HTTP gateway: the method must be GET or POST, not %(method)r", method=method)))
        body_format = (self.config.get("generic_body_format") or ("query" if method == "GET" else "form")).strip()
        if body_format not in BODY_FORMATS:
            raise bad(
                str(
                    _lt(
                        "Generic HTTP gateway: the body format must be query, form or json, not %(fmt)r",
                        fmt=body_format,
                    )
                )
            )
        if method == "GET" and body_format != "query":
            raise bad(str(_lt("Generic HTTP gateway: a GET call can only send its parameters in the query")))
        raw_params = self.config.get("generic_params") or "{}"
        try:
            params = json.loads(raw_params) if isinstance(raw_params, str) else raw_params
        except ValueError as e:
            raise bad(
                str(_lt("Generic HTTP gateway: the parameters are not valid JSON (%(error)s)", error=e))
            ) from None
        if not isinstance(params, dict) or not params:
            raise bad(str(_lt("Generic HTTP gateway: the parameters must be a non-empty JSON object")))
        if body_format != "json" and any(isinstance(v, (dict, list)) for v in params.values()):
            raise bad(str(_lt("Generic HTTP gateway: nested values need the json body format")))
        used = set(PLACEHOLDER_RE.findall(json.dumps(params, ensure_ascii=False)))
        unknown = sorted(used - set(PLACEHOLDERS))
        if unknown:
            raise bad(
                str(
                    _lt(
                        "Generic HTTP gateway: unknown placeholder(s) %(names)s; use %(known)s",
                        names=", ".join(f"{{{n}}}" for n in unknown),
                        known=", ".join(f"{{{n}}}" for n in PLACEHOLDERS),
                    )
                )
            )
        if not used & {"to", "to_digits"} or "message" not in used:
            raise bad(str(_lt("Generic HTTP gateway: the parameters must use {to} (or {to_digits}) and {message}")))
        auth = (self.config.get("generic_auth") or "none").strip().lower()
        if auth not in AUTH_MODES:
            raise bad(str(_lt("Generic HTTP gateway: authentication must be none, basic, header or param")))
        auth_name = (self.config.get("generic_auth_name") or "").strip()
        if auth in ("header", "param") and not auth_name:
            raise bad(str(_lt("Generic HTTP gateway: set the name of the header or parameter carrying the API key")))
        rule = (self.config.get("generic_success_rule") or "http").strip()
        if rule == "http":
            parsed_rule = ("http", None, None)
        elif rule.startswith("text:") and rule[5:].strip():
            parsed_rule = ("text", None, rule[5:].strip())
        elif match := JSON_RULE_RE.match(rule):
            expected = match.group(2)
            try:
                expected = json.loads(expected)
            except ValueError:
                pass  # a bare word: compared as text
            parsed_rule = ("json", match.group(1), _as_text(expected))
        else:
            raise bad(
                str(
                    _lt(
                        "Generic HTTP gateway: invalid success rule %(rule)r; use http, text:<prefix> or json:<path>==<value>",
                        rule=rule,
                    )
                )
            )
        id_path = (self.config.get("generic_message_id_path") or "").strip()
        if id_path and not re.fullmatch(r"[\w\-]+(\.[\w\-]+)*", id_path):
            raise bad(str(_lt("Generic HTTP gateway: invalid message id path %(path)r", path=id_path)))
        return {
            "url": url,
            "method": method,
            "format": body_format,
            "params": params,
            "auth": auth,
            "auth_name": auth_name,
            "rule": parsed_rule,
            "id_path": id_path,
        }

    def _values(self, message):
        return {
            "to": message.number or "",
            "to_digits": re.sub(r"\D", "", message.number or ""),
            "message": message.body or "",
            "sender": self.config.get("sender") or "",
            "ref": message.ref or "",
            "unicode": "1" if message.unicode else "0",
            "username": self.config.get("username") or "",
            "password": self.config.get("password") or "",
            "api_key": self.config.get("api_key") or "",
        }

    @classmethod
    def _fill(cls, value, values):
        if isinstance(value, str):
            return PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), m.group(0)), value)
        if isinstance(value, dict):
            return {k: cls._fill(v, values) for k, v in value.items()}
        if isinstance(value, list):
            return [cls._fill(v, values) for v in value]
        return value

    # -- sending ------------------------------------------------------------
    def send(self, messages):
        try:
            settings = self._settings()
        except ProviderError as e:
            return self.fail_all(messages, e.failure_type, str(e))
        return [self._send_one(settings, message) for message in messages]

    def _send_one(self, settings, message):
        params = self._fill(settings["params"], self._values(message))
        kwargs = {"allow_redirects": False}
        if settings["auth"] == "basic":
            kwargs["auth"] = (self.config.get("username") or "", self.config.get("password") or "")
        elif settings["auth"] == "header":
            kwargs["headers"] = {settings["auth_name"]: self.config.get("api_key") or ""}
        elif settings["auth"] == "param":
            params[settings["auth_name"]] = self.config.get("api_key") or ""
        kwargs[{"query": "params", "form": "data", "json": "json"}[settings["format"]]] = params
        response, error = self._request(settings["method"], settings["url"], **kwargs)
        if error:
            return self.failed(message, error)
        self._fix_encoding(response)
        ok, data, understood = self._is_success(settings, response)
        if not ok:
            status = response.status_code
            text = self._body_excerpt(response)
            # a server error or a rate limit is transient whatever its words ("too many numbers per second")
            failure_type = None if status >= 500 or status == 429 else self._classify(self._words(response, data))
            if failure_type is None:
                failure_type = {401: FAILURE_ACCOUNT, 403: FAILURE_ACCOUNT, 402: FAILURE_CREDIT}.get(status)
            if 200 <= status < 300 and text and (understood or failure_type or self._error_text(response)):
                error_message = str(_lt("Refused by the gateway: %(answer)s", answer=text))
            else:
                error_message = self._unexpected(response)
            return self.failed(message, error_message, failure_type)
        provider_id = message.ref
        if settings["id_path"]:
            if data is None:
                data = self._json(response)
            value = json_path(data, settings["id_path"]) if data is not None else _MISSING
            if value is _MISSING or value in (None, "") or isinstance(value, (dict, list)):
                return SendResult(
                    message.ref,
                    error_message=str(
                        _lt("Sent, but no message id at %(path)s in the answer", path=settings["id_path"])
                    ),
                )
            provider_id = _as_text(value)
            if provider_id.strip().upper() in NOT_AN_ID:
                # the rule says sent, the id says error: not understood, maybe sent
                return self.failed(
                    message,
                    self._unexpected(response),
                    FAILURE_UNCERTAIN,
                )
        return SendResult(message.ref, provider_id=provider_id)

    @staticmethod
    def _fix_encoding(response):
        """A text answer without charset: UTF-8 when its bytes are valid UTF-8 (requests would take
        ISO-8859-1, the old HTTP default, and mangle every accent)."""
        if "charset" in (response.headers.get("Content-Type") or "").lower():
            return
        try:
            response.content.decode("utf-8")
        except UnicodeDecodeError:
            return
        response.encoding = "utf-8"

    @staticmethod
    def _error_text(response):
        """Whether the body is a plain-text refusal: its first word is KO, ERROR..."""
        text = (response.text or "").strip()
        if not text or text[0] in "{[<":
            return False
        first = re.split(r"[\s:;,.\-]+", text, maxsplit=1)[0]
        return first.upper() in ERROR_WORDS

    def _words(self, response, data):
        """The gateway's words: the values of its message/error/detail... fields in a JSON answer, else
        its text."""
        if data is None:
            data = self._json(response)
        if isinstance(data, (dict, list)):
            found = []

            def collect(value, key=""):
                if isinstance(value, dict):
                    for k, v in value.items():
                        collect(v, str(k))
                elif isinstance(value, list):
                    for v in value:
                        collect(v, key)
                elif isinstance(value, str) and WORD_KEYS.search(key):
                    found.append(value)

            collect(data)
            return " ".join(found)
        return self._body_excerpt(response)

    @staticmethod
    def _classify(words):
        for pattern, failure_type in REFUSAL_WORDS:
            if pattern.search(words or ""):
                return failure_type
        return None

    def _is_success(self, settings, response):
        """(success, parsed JSON or None, whether the rule could read the answer)."""
        if not 200 <= response.status_code < 300:
            return False, None, True
        if self._error_text(response):
            return False, None, True  # "KO ...", "ERROR ...": a refusal whatever the rule
        kind, path, expected = settings["rule"]
        if kind == "http":
            return True, None, True
        if kind == "text":
            text = (response.text or "").strip()
            return text.startswith(expected), None, False
        data = self._json(response)
        if data is None:
            return False, None, False
        value = json_path(data, path)
        if value is _MISSING:
            return False, data, False
        return _as_text(value) == expected, data, True

    # -- account ------------------------------------------------------------
    def test_connection(self):
        """Validate the configuration: the generic connector has no call to
        check the credentials without sending an SMS."""
        self._settings()
        return str(
            _lt(
                "Configuration valid. The generic connector cannot check the credentials without sending "
                "an SMS: send a test message."
            )
        )

    # -- replies ----------------------------------------------------------------
    def _inbound_value(self, payload, key):
        configured = str(self.config.get(f"generic_inbound_{key}") or "").strip()
        for path in (configured,) if configured else INBOUND_DEFAULT_FIELDS[key]:
            value = json_path(payload, path)
            if value is not _MISSING and value not in (None, ""):
                return value
        return None

    def parse_inbound(self, payload, headers=None):
        if not isinstance(payload, dict):
            raise ValueError("Generic inbound SMS: expected query, form or JSON object fields")
        number = inbound_number(self._inbound_value(payload, "from"))
        text = self._inbound_value(payload, "text")
        message_id = self._inbound_value(payload, "id")
        if not number or text is None or isinstance(text, (dict, list)):
            raise ValueError("Generic inbound SMS: sender number or text missing")
        provider_id = (
            _as_text(message_id) if message_id is not None and not isinstance(message_id, (dict, list)) else None
        )
        return [InboundSms(number, str(text), provider_id)]
