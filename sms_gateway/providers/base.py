"""The small interface every SMS provider connector implements.

Connectors are plain Python: no ORM, no database. The ``sms.gateway.account``
model builds one connector per account and dispatch run (``connector_for``),
hands it batches of :class:`OutgoingSms` and maps the :class:`SendResult`
list back onto ``sms.sms`` records. This keeps every connector testable alone
against its local emulator.
"""

import base64
import functools
import html
import json
import logging
import re
import unicodedata
import urllib.parse
from dataclasses import dataclass, field
from types import SimpleNamespace

import requests

from odoo.tools.translate import LazyTranslate

from .failures import (  # noqa: F401  (the failure types are imported from here too)
    FAILURE_ACCOUNT,
    FAILURE_CREDIT,
    FAILURE_NUMBER,
    FAILURE_SERVER,
    FAILURE_UNCERTAIN,
    FAILURE_UNKNOWN,
    TRANSIENT_FAILURES,
)

_logger = logging.getLogger(__name__)
# Our own messages. Connectors run outside any environment: ``str(_lt(...))`` in a connector method takes the
# language of ``self.env.lang`` (see SmsProvider.env), English when the account gave none.
_lt = LazyTranslate("sms_gateway", default_lang="en_US")


@dataclass
class OutgoingSms:
    """One message to hand to a provider."""

    ref: str  # our own reference (sms.sms uuid), unique per message
    number: str  # E.164, e.g. +33612345678
    body: str
    unicode: bool = False  # True when the body needs UCS-2 (see tools.sms_segments)
    segments: int = 1


@dataclass
class SendResult:
    """The provider's answer for one message."""

    ref: str
    provider_id: str | None = None
    failure_type: str | None = None
    error_message: str | None = None  # the provider's own words where useful

    @property
    def ok(self):
        return not self.failure_type


@dataclass
class DeliveryReport:
    """A delivery status parsed from a provider's webhook or pull API.

    ``state`` is Odoo's: ``sent`` (delivered), ``pending`` (still on its way)
    or ``error`` with a delivery ``failure_type`` such as ``sms_not_delivered``.
    """

    provider_id: str
    state: str
    failure_type: str | None = None
    error_message: str | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class InboundSms:
    """A message (or an opt-out event) a provider forwards from a phone: a reply to our SMS, or the provider's
    own "unsubscribe" event (``kind`` ``unsubscribe``; ``start`` when the provider says the number opted in
    again). ``number`` is the phone's, E.164 when the provider gives the country code."""

    number: str
    text: str = ""
    provider_id: str | None = None  # the provider's id of this message or event: a replay is stored once
    kind: str | None = None  # None: read from the text (reply / stop / start keywords); "unsubscribe"; "start"
    reply_to_provider_id: str | None = None  # the provider's id of the SMS it answers, when it says so
    to: str | None = None  # our number (or short code) it was sent to
    date: str | None = None  # the provider's date, as given


def inbound_number(value):
    """A phone number as a provider forwards it (``+33612345678``, ``33612345678``, ``0033612345678``), in
    E.164 when it carries its country code; national numbers (``0612345678``) are returned as given, for the
    model to format with the company's country. Empty when it is not a phone number."""
    number = re.sub(r"[\s.()-]", "", str(value or ""))
    if number.startswith("00"):
        number = "+" + number[2:]
    if not re.fullmatch(r"\+?\d{6,15}", number):
        return ""
    if not number.startswith("+") and not number.startswith("0") and len(number) >= 10:
        number = "+" + number  # international without its "+": Vonage, Brevo
    return number


class RequestFailure(str):
    """The human message of a request that got no usable answer (a ``str``), and whether the request may
    have reached the provider: then the message may have been sent, and it is never sent again without
    asking the provider (``SmsProvider.lookup``)."""

    maybe_sent = False

    def __new__(cls, message, maybe_sent=False):
        failure = super().__new__(cls, str(message))
        failure.maybe_sent = maybe_sent
        return failure


class ProviderError(Exception):
    """A call that failed as a whole (balance query, connection test...)."""

    def __init__(self, message, failure_type=FAILURE_SERVER):
        super().__init__(message)
        self.failure_type = failure_type


PLAIN_REFUSAL = re.compile(r"^\s*(?:ko|nok|error|erreur|fail(?:ed|ure)?|[ée]chec)(?:$|[\s:;,<(\[{!])", re.IGNORECASE)
"""A plain-text refusal where an identifier or a structured answer should be: ``KO``, ``ERROR``, ``Erreur``,
``NOK``, ``FAIL``, ``Échec``..., alone or followed by words. Never a message id."""

NOT_AN_ID = frozenset(
    {
        "KO",
        "NOK",
        "ERROR",
        "ERR",
        "ERREUR",
        "FAIL",
        "FAILED",
        "FAILURE",
        "ECHEC",
        "ÉCHEC",
        "NULL",
        "NONE",
        "FALSE",
        "UNDEFINED",
    }
)
"""Words a provider may put where the message id should be: a failure or nothing, never an id."""


def plain_words(text):
    """``text`` without accents, to match the providers' French words as well as their English ones."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def credit_message(words):
    """The message of a no-credit failure: the provider's ``words``, said to be about the provider account's
    credit when they do not say "credit" (the user must read it, not a bare code)."""
    if re.search(r"credit", plain_words(words), re.IGNORECASE):
        return words
    return str(_lt("No credit left on the provider account: %(error)s", error=words))


PROVIDERS = {}
"""The registered connectors: ``{code: connector class}``."""


class RequiredLabel(str):
    """The label of a credential the provider cannot work without (see :func:`required`)."""


def required(label):
    """Mark a credential as required in ``credential_labels``: ``{"api_key": required("Token")}``."""
    return RequiredLabel(label)


class SmsProvider:
    """Base class of the connectors.

    A connector is declared and registered (in :data:`PROVIDERS`) by its class statement::

        class OrangeProvider(SmsProvider, code="orange", label="Orange Contact Everyone (API Light)"):
            default_base_url = "https://contact-everyone.orange-business.com"
            credential_labels = {"api_key": required("Token (API Light)")}

    It declares the rest of its provider's facts as the class attributes below (the account model, its
    form and the dispatch read them from here only) and implements :meth:`send_one` (or :meth:`send` when
    the provider has a batch call).

    :param config: dict with the account's settings: ``base_url``, ``sender``,
        ``timeout`` (seconds) and the provider's credentials under the generic
        keys of ``sms.gateway.account`` (``username``, ``password``,
        ``api_key``, ``service_id``, ``space_id`` ...), the account fields named
        by ``account_fields`` and ``ui_lang``, the language of the messages the
        connector writes for people (they end in the SMS history).
    :param session: an optional ``requests.Session`` reused for the whole
        dispatch run (keep-alive); one is created when not given.
    """

    # -- facts: what the provider is and offers (read on the class) ------------
    code = None
    """Value of ``sms.gateway.account.provider``; the key of :data:`PROVIDERS`."""
    label = None
    """English name of the provider: the label of its value in the provider selection (translated there)."""
    sequence = 10
    """Position of the provider in the selection (then by code)."""
    default_base_url = None
    """The provider's production URL, used when the account gives none."""
    batch_size = 1
    """How many messages one :meth:`send` call accepts (the provider's batch call)."""
    has_balance = False
    """The provider has a balance call: :meth:`get_balance` asks it."""
    balance_in_answers = False
    """The provider reports the balance left in its answers to a send (``last_balance`` after a send)."""
    has_lookup = False
    """The provider can be asked whether it got a message (:meth:`lookup`): a request whose answer was lost
    is resolved by asking, before any retry."""
    has_delivery_reports = False
    """The provider reports deliveries (webhook and/or pull): the account shows its delivery report URL."""
    has_inbound = False
    """The provider forwards replies (and/or opt-out events) to a URL: the account shows its inbound URL and
    :meth:`parse_inbound` reads what the provider posts there."""
    inbound_answer = ("OK", "text/plain; charset=utf-8")
    """``(body, content type)`` of the answer to an accepted inbound request (Twilio expects TwiML)."""
    credential_labels = {}
    """``{account field: label}`` of the generic credential fields the provider uses, as the account form
    shows them (``username``, ``password``, ``api_key``, ``service_id``, ``space_id``, ``sender``,
    ``base_url``); the labels of the required ones are marked with :func:`required`."""
    required_credentials = ()
    """The credential fields without which the provider cannot be used (checked by the account and before
    each send): those of ``credential_labels`` marked :func:`required`."""
    account_fields = {}
    """``{config key: account field}`` of the provider-specific account fields the connector reads."""
    secret_credentials = ("password", "api_key", "webhook_token")
    """The config keys holding secrets: their values are masked out of every text the connector returns or
    raises (:meth:`redact`), in every form a URL, a form body, JSON, HTML or basic auth may carry them."""

    # -- runtime state (per connector, hence per account and dispatch run) -------
    last_balance = None
    """The balance the provider reported in its last answer, or None (see ``balance_in_answers``)."""
    balance_currency = ""
    """The unit of the last balance read, when the provider gives one."""

    def __init_subclass__(cls, code=None, label=None, **kwargs):
        """``code`` and ``label`` in the class statement declare a connector and register it; its calls
        are wrapped so that no secret leaves them (see :func:`_redacting`)."""
        super().__init_subclass__(**kwargs)
        _redact_calls(cls)
        if "credential_labels" in cls.__dict__ and "required_credentials" not in cls.__dict__:
            labels = cls.credential_labels
            cls.required_credentials = tuple(name for name in labels if isinstance(labels[name], RequiredLabel))
        if code:
            cls.code, cls.label = code, label
            PROVIDERS[code] = cls

    def __init__(self, config, session=None):
        self.config = dict(config)
        self.timeout = float(self.config.get("timeout") or 10.0)
        self.base_url = (self.config.get("base_url") or self.default_base_url or "").rstrip("/")
        self._session = session

    @property
    def env(self):
        """Only the language: Odoo's lazy translations read ``self.env.lang`` in the frame that renders them."""
        return SimpleNamespace(lang=self.config.get("ui_lang") or "en_US")

    @property
    def session(self):
        if self._session is None:
            self._session = requests.Session()
        return self._session

    def close(self):
        if self._session is not None:
            self._session.close()

    # -- secrets ------------------------------------------------------------------
    def secret_forms(self):
        """Every form in which the account's secrets may appear in a text: as typed, URL-encoded (path,
        query or form body), JSON- and HTML-escaped, and inside a basic-auth header; longest first."""
        forms = set()
        username = str(self.config.get("username") or "")
        for key in self.secret_credentials:
            value = str(self.config.get(key) or "")
            for secret in {value, value.strip()}:
                if len(secret) < 4:  # masking a 1-3 character "secret" would garble every message
                    continue
                forms |= {
                    secret,
                    urllib.parse.quote(secret, safe=""),
                    urllib.parse.quote(secret),
                    urllib.parse.quote_plus(secret),
                    json.dumps(secret)[1:-1],
                    html.escape(secret),
                }
                forms.add(base64.b64encode(f"{username}:{secret}".encode()).decode())
        return sorted(forms, key=len, reverse=True)

    def redact(self, text):
        """``text`` with every secret of the account masked (``***``); a :class:`RequestFailure` stays one."""
        if not text or not isinstance(text, str):
            return text
        redacted = str(text)
        for secret in self.secret_forms():
            redacted = redacted.replace(secret, "***")
        if redacted == text:
            return text
        if isinstance(text, RequestFailure):
            return RequestFailure(redacted, maybe_sent=text.maybe_sent)
        return redacted

    def _redact_result(self, result):
        """``result`` of a connector call with the secrets masked from its texts."""
        if isinstance(result, str):
            return self.redact(result)
        if isinstance(result, list):
            for item in result:
                if isinstance(item, (SendResult, DeliveryReport)) and item.error_message:
                    item.error_message = self.redact(item.error_message)
        return result

    # -- configuration ----------------------------------------------------------
    @classmethod
    def missing_credentials(cls, values):
        """The ``required_credentials`` left empty in ``values`` (the connector's config, or any mapping of
        the account's credential fields)."""
        return [name for name in cls.required_credentials if not str(values.get(name) or "").strip()]

    def credentials_error(self):
        """A human message naming the required credentials the config lacks, or None."""
        missing = self.missing_credentials(self.config)
        if not missing:
            return None
        labels = ", ".join(self.credential_labels.get(name) or name for name in missing)
        return str(_lt("Missing credentials: %(credentials)s", credentials=labels))

    def config_error(self):
        """Why this connector cannot send with its config (a human message), or None: by default the
        required credentials it lacks. :meth:`send` then fails every message (``sms_acc``) without calling
        the provider."""
        return self.credentials_error()

    def _check_credentials(self):
        """Raise ProviderError (``sms_acc``) when a required credential is missing."""
        error = self.credentials_error()
        if error:
            raise ProviderError(error, FAILURE_ACCOUNT)

    def check_settings(self):
        """Raise ProviderError with a human message when the account's settings cannot work (checked when
        the account is saved). By default every setting is accepted."""

    # -- the interface ------------------------------------------------------
    def send(self, messages):
        """Send ``messages`` (a list of :class:`OutgoingSms`, at most
        ``batch_size``). Return one :class:`SendResult` per message, in any
        order, each carrying the message's ``ref``. Must not raise for a
        provider answer: every answer, odd ones included, maps to a result.

        By default: one :meth:`send_one` call per message, once :meth:`config_error` found nothing."""
        error = self.config_error()
        if error:
            return self.fail_all(messages, FAILURE_ACCOUNT, error)
        return [self.send_one(message) for message in messages]

    def send_one(self, message):
        """Send one :class:`OutgoingSms`; return its :class:`SendResult` (same contract as :meth:`send`)."""
        raise NotImplementedError

    def get_balance(self):
        """Return the provider's balance (a number) or raise ProviderError."""
        raise ProviderError("This provider has no balance query.", FAILURE_UNKNOWN)

    def test_connection(self):
        """Check the credentials; return a human message or raise ProviderError. By default: the balance
        call when the provider has one; without it the credentials cannot be checked without sending."""
        self._check_credentials()
        if self.has_balance:
            balance = self.get_balance()
            return f"Connection OK. Balance: {balance}"
        raise ProviderError(
            str(
                _lt(
                    "%(provider)s has no balance or account call: the credentials can only be tested by sending "
                    "an SMS.",
                    provider=self.label,
                )
            ),
            FAILURE_UNKNOWN,
        )

    def parse_delivery_report(self, payload, headers=None):
        """Turn a webhook payload (dict of the request's form or JSON data)
        into a list of :class:`DeliveryReport`. Raise ValueError when the
        payload is malformed."""
        raise ValueError("This provider sends no delivery reports.")

    def parse_inbound(self, payload, headers=None):
        """Turn an inbound webhook payload (the request's query and form or JSON data, or its raw body) into
        a list of :class:`InboundSms`; events that are not replies nor opt-outs give an empty list. Raise
        ValueError when the payload is malformed."""
        raise ValueError("This provider forwards no replies.")

    def lookup(self, messages):
        """Ask the provider which of ``messages`` (a list of :class:`OutgoingSms`
        whose answer was lost, or left "being sent" by a run that died) it
        really got. Return ``{ref: provider_id}`` for those it has, ``{ref: False}``
        for those it definitely never got (they are queued again); a ref left
        out is unknown (flagged "interrupted", never resent). Raise
        ProviderError when the provider cannot be asked: every message is then
        flagged. By default the provider cannot be asked: ``{}``."""
        return {}

    def check_signature(self, url, payload, headers=None):
        """Whether a webhook request really comes from the provider (``url``:
        the full URL it was posted to, ``payload``: its form or JSON data).
        Providers that sign their callbacks override this; by default every
        request is accepted."""
        return True

    # -- helpers for connectors ---------------------------------------------
    @staticmethod
    def failure_type_of(error_message):
        """The failure type of a request that got no usable answer: ``sms_uncertain`` when it may have
        reached the provider (:class:`RequestFailure` ``maybe_sent``), else the transient ``sms_server``."""
        return (
            FAILURE_UNCERTAIN
            if isinstance(error_message, RequestFailure) and error_message.maybe_sent
            else FAILURE_SERVER
        )

    @classmethod
    def failed(cls, message, error_message, failure_type=None):
        """The failed :class:`SendResult` of ``message``. Without ``failure_type``: ``sms_uncertain`` when
        the request may have reached the provider (a lost or unreadable answer), else ``sms_server`` (it
        never reached the provider, or the provider refused it: safe to retry)."""
        return SendResult(
            message.ref, failure_type=failure_type or cls.failure_type_of(error_message), error_message=error_message
        )

    @classmethod
    def fail_all(cls, messages, failure_type, error_message):
        return [cls.failed(m, error_message, failure_type) for m in messages]

    def _url(self, path):
        """``base_url`` joined with ``path``."""
        return f"{self.base_url}/{path.lstrip('/')}"

    def _request(self, method, url, **kwargs):
        """One HTTP call through ``self.session`` with the account's timeout,
        that never raises. Return ``(response, None)`` when the provider
        answered (whatever the status) or ``(None, failure)``, a
        :class:`RequestFailure` (a human message) when no answer came: it
        says whether the request may have reached the provider (read
        timeout, connection dropped once the request was out) or certainly
        did not (connection refused or timed out, unknown host, TLS
        handshake)."""
        kwargs.pop("timeout", None)  # always the account's
        kwargs.setdefault("allow_redirects", False)  # a redirect is an answer to report, not to follow
        try:
            return self.session.request(method, url, timeout=self.timeout, **kwargs), None
        except requests.exceptions.ConnectTimeout:
            return None, RequestFailure(
                str(_lt("Provider unreachable: no connection within %(timeout)s s", timeout=self.timeout))
            )
        except requests.exceptions.Timeout:
            return None, RequestFailure(
                str(
                    _lt(
                        "Provider did not answer within %(timeout)s s (timeout); the message may have been sent",
                        timeout=self.timeout,
                    )
                ),
                maybe_sent=True,
            )
        except requests.exceptions.SSLError as e:
            return None, RequestFailure(
                str(_lt("Provider unreachable: TLS/SSL error (%(error)s)", error=self._exception_text(e)))
            )
        except requests.exceptions.ConnectionError as e:
            text = self._exception_text(e)
            lowered = str(e).lower()
            if "refused" in lowered:
                return None, RequestFailure(str(_lt("Provider unreachable: connection refused")))
            if "resolve" in lowered or "name or service" in lowered or "nodename" in lowered:
                return None, RequestFailure(str(_lt("Provider unreachable: unknown host")))
            if "aborted" in lowered or "disconnected" in lowered or "reset" in lowered:
                # the connection was up and the request written: the provider may have taken it
                return None, RequestFailure(
                    str(_lt("Provider closed the connection without answering")), maybe_sent=True
                )
            return None, RequestFailure(str(_lt("Provider unreachable: %(error)s", error=text)))
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as e:
            # the answer started, then broke: the request was received
            return None, RequestFailure(
                str(_lt("Provider request failed: %(error)s", error=self._exception_text(e))), maybe_sent=True
            )
        except (requests.exceptions.RequestException, OSError, ValueError) as e:
            return None, RequestFailure(str(_lt("Provider request failed: %(error)s", error=self._exception_text(e))))

    @staticmethod
    def _exception_text(exc, limit=200):
        text = " ".join(str(exc).split()) or exc.__class__.__name__
        return text[:limit]

    @staticmethod
    def _json(response):
        """The response's JSON body, or None when empty or not JSON."""
        try:
            return response.json()
        except ValueError:  # requests' JSONDecodeError is a ValueError
            return None

    @staticmethod
    def _text(response):
        """The body as text: UTF-8 when its bytes are UTF-8 (a plain-text answer often gives no charset, which
        ``requests`` reads as ISO-8859-1 and every accent is mangled), else as ``requests`` decodes it."""
        try:
            return response.content.decode("utf-8")
        except UnicodeDecodeError:
            return response.text or ""

    @classmethod
    def _body_excerpt(cls, response, limit=200):
        """A short, single-line, tag-free excerpt of the response's body."""
        text = cls._text(response)
        text = re.sub(r"<[^>]*>", " ", text)
        text = " ".join(text.split())
        return text[:limit] + ("..." if len(text) > limit else "")

    def _http_error(self, response):
        """Message for an HTTP status the connector does not handle."""
        return str(_lt("Provider answered HTTP %(status)s", status=response.status_code))

    def _unexpected_failure(self, response):
        """``(failure type, message)`` of an answer the connector cannot understand (see ``_unexpected``)."""
        message = self._unexpected(response)
        return self.failure_type_of(message), message

    def _unexpected(self, response):
        """Message for an answer the connector cannot understand: a 2xx answer may mean the provider took
        the message (``maybe_sent``); any other status is a refusal."""
        body = self._body_excerpt(response) or str(_lt("empty body"))
        return RequestFailure(
            str(
                _lt(
                    "Unexpected answer from provider (HTTP %(status)s): %(body)s",
                    status=response.status_code,
                    body=body,
                )
            ),
            maybe_sent=200 <= response.status_code < 300,
        )


REDACTED_CALLS = ("send", "lookup", "get_balance", "test_connection", "check_settings", "fetch_delivery_reports")
"""The connector calls whose texts (results' messages, ProviderError messages) are kept or shown: each one is
wrapped by :func:`_redacting`, in every connector, so that no secret leaves a connector."""


def _redacting(method):
    """``method`` (a connector call) with the secrets masked from its result's texts and from the message of
    the ProviderError it raises."""
    if getattr(method, "redacting", False):
        return method

    @functools.wraps(method)
    def call(self, *args, **kwargs):
        try:
            result = method(self, *args, **kwargs)
        except ProviderError as error:
            error.args = tuple(self.redact(arg) if isinstance(arg, str) else arg for arg in error.args)
            raise
        return self._redact_result(result)

    call.redacting = True
    return call


def _redact_calls(cls):
    for name in REDACTED_CALLS:
        method = cls.__dict__.get(name)
        if callable(method):
            setattr(cls, name, _redacting(method))


_redact_calls(SmsProvider)
