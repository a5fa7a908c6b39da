"""Vonage (Nexmo) SMS API emulator.

Documented behaviour: ``POST /sms/json`` with form (or query) fields
``api_key``, ``api_secret``, ``from``, ``to`` (digits, no ``+``), ``text``,
optional ``type`` (text|unicode), ``callback``, ``client-ref``; always HTTP 200
with ``{"message-count", "messages": [{"to", "message-id", "status",
"remaining-balance", "message-price", "network"} | {"status", "error-text"}]}``,
one entry per part of a long message. ``GET /account/get-balance?api_key=&
api_secret=`` -> ``{"value", "autoReload"}`` or 401.

Test inputs: wrong key/secret -> status 4; a missing from/to/text -> 2; an
unknown field, a bad ``type`` or a ``to`` that is not 7-15 digits -> 3;
``to`` in ``ERROR_NUMBERS`` -> that status (1 throttled, 5 internal error,
6 invalid message, 7 number barred, 29 non-whitelisted destination);
``to`` in ``invalid_numbers`` (a set a test fills, emptied by ``reset_state``) -> 3 "Invalid to address";
``balance`` is charged ``price`` per part and ``credits`` (None: unlimited) one per part, a message they
cannot pay -> 9 "Quota Exceeded - rejected" (Vonage's "Partner Quota Violation": not enough credit).
"""

import itertools
import uuid
from datetime import datetime, timezone

import requests

from .base import EmulatorResponse, ProviderEmulator, segments

FIELDS = {"api_key", "api_secret", "from", "to", "text", "type", "callback", "client-ref"}
ERROR_NUMBERS = {
    "15550000001": ("1", "Throughput Rate Exceeded - please wait [ 1000 ] and retry"),
    "15550000005": ("5", "Internal Error"),
    "15550000006": ("6", "Unroutable message - rejected"),
    "15550000007": ("7", "Number barred."),
    "15550000029": ("29", "Non White-listed Destination - rejected"),
}


def _error(status, text):
    return EmulatorResponse(200, {"message-count": "1", "messages": [{"status": status, "error-text": text}]})


class VonageEmulator(ProviderEmulator):
    def __init__(self, api_key="abcd1234", api_secret="Secret-5678", balance=10.0, price=0.0333, latency=0.0):
        self.initial_balance = balance
        super().__init__(latency=latency)
        self.api_key = api_key
        self.api_secret = api_secret
        self.price = price
        self._ids = itertools.count(1)  # messages: message-id -> fields

    def reset_state(self):
        super().reset_state()
        self.balance = self.initial_balance  # None = unlimited
        self.invalid_numbers = set()  # ``to`` (digits) answered status 3 "Invalid to address"

    def handle(self, request):
        params = request.params
        if request.path == "/account/get-balance" and request.method == "GET":
            if params.get("api_key") != self.api_key or params.get("api_secret") != self.api_secret:
                return EmulatorResponse(401, {"error-code": "401", "error-code-label": "authentication failed"})
            with self._state_lock:
                value = 1000.0 if self.balance is None else round(self.balance, 5)
            return EmulatorResponse(200, {"value": value, "autoReload": False})
        if request.path != "/sms/json" or request.method != "POST":
            return EmulatorResponse(404, "<html><body>Not Found</body></html>", "text/html")
        if params.get("api_key") != self.api_key or params.get("api_secret") != self.api_secret:
            return _error("4", "Bad Credentials")
        for name in ("from", "to", "text"):
            if not params.get(name):
                return _error("2", f"Missing {name} param")
        unknown = set(params) - FIELDS
        if unknown:
            return _error("3", f"Invalid parameter: {', '.join(sorted(unknown))}")
        msg_type = params.get("type", "text")
        if msg_type not in ("text", "unicode"):
            return _error("3", "Invalid type")
        to = params["to"]
        if not to.isdigit() or not 7 <= len(to) <= 15 or to in self.invalid_numbers:
            return _error("3", "Invalid to address")
        if to in ERROR_NUMBERS:
            return _error(*ERROR_NUMBERS[to])
        parts = segments(params["text"], msg_type == "unicode")
        entries = []
        with self._state_lock:
            if (self.balance is not None and self.balance < parts * self.price) or not self.take_credits(parts):
                return _error("9", "Quota Exceeded - rejected")
            for _part in range(parts):
                if self.balance is not None:
                    self.balance -= self.price
                message_id = f"{next(self._ids):016X}"
                self.messages[message_id] = dict(params)
                entries.append(
                    {
                        "to": to,
                        "message-id": message_id,
                        "status": "0",
                        "remaining-balance": f"{1000.0 if self.balance is None else self.balance:.8f}",
                        "message-price": f"{self.price:.8f}",
                        "network": "20810",
                    }
                )
        return EmulatorResponse(200, {"message-count": str(parts), "messages": entries})

    # -- the phone's side: an inbound SMS sent to the account's webhook -----------------------------------
    def send_inbound(self, url, number, text, to="33700000000", message_id=None, method="GET"):
        """Send an inbound SMS to ``url`` as Vonage does: GET query (or POST JSON) with ``msisdn`` (E.164
        without ``+``), ``to``, ``messageId``, ``text``, ``type``, ``keyword``, ``message-timestamp``."""
        params = {
            "msisdn": number.lstrip("+"),
            "to": to,
            "messageId": message_id or uuid.uuid4().hex[:16].upper(),
            "text": text,
            "type": "unicode" if any(ord(c) > 0x7F for c in text) else "text",
            "keyword": (text.split() or [""])[0].upper(),
            "message-timestamp": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
        }
        if method == "GET":
            return requests.get(url, params=params, timeout=10)
        return requests.post(url, json=params, timeout=10)
