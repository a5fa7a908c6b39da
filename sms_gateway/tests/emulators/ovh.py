"""OVHcloud http2sms emulator.

Documented behaviour: ``GET /cgi-bin/sms/http2sms.cgi`` with ``account``,
``login``, ``password``, ``from``, ``to`` (comma-separated, ``00``
international format), ``message``, optional ``noStop``, ``smsCoding``
(1 GSM-7, 2 Unicode), ``class``, ``deferred``, ``tag``, ``contentType``.
With ``contentType=text/json`` it answers
``{"status": 100, "creditLeft": "230.50", "SmsIds": [...]}`` (``ids_key``
switches to ``smsIds``) or ``{"status": <code>, "message": ...}``; without it,
text ``OK\\n<credits>\\n<id>...`` or ``KO\\n<message>``. Status codes: 100
success, 201 missing parameter, 202 invalid parameter, 241 sender not found,
401 authentication error.

Test inputs: wrong account -> 401 "Invalid smsAccount"; wrong login or
password -> 401; credentials are checked before anything else, then missing
parameters (201), unknown parameters or a bad value (202), a ``to`` number
not in ``00`` format or in ``invalid_numbers`` (``INVALID_NUMBERS`` unless a
test changes it) -> 202 "Invalid receiver: <number>" (the whole call is
refused, nothing is sent); ``from`` not in ``authorised_senders`` (when
set) -> 241; ``credits`` (None = unlimited) charged one per recipient and
segment; not enough -> 202 "Not enough credit".
"""

import itertools
import re
import uuid

import requests

from .base import EmulatorResponse, ProviderEmulator, segments

PATH = "/cgi-bin/sms/http2sms.cgi"
FIELDS = {
    "account",
    "login",
    "password",
    "from",
    "to",
    "message",
    "noStop",
    "smsCoding",
    "class",
    "deferred",
    "tag",
    "contentType",
}
INVALID_NUMBERS = {"0033600000001"}
GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€"
)


class OvhEmulator(ProviderEmulator):
    def __init__(self, account="sms-ab12345-1", login="odoo", password="s3cret", credits=None, latency=0.0):
        super().__init__(latency=latency, credits=credits)
        self.account = account
        self.login = login
        self.password = password
        self._ids = itertools.count(1000001)

    def reset_state(self):
        super().reset_state()  # messages: id -> dict(to, message, coding, sender, no_stop)
        self.authorised_senders = None  # None = any sender
        self.invalid_numbers = set(INVALID_NUMBERS)  # numbers OVH refuses (00 format)
        self.ids_key = "SmsIds"

    @staticmethod
    def _answer(params, status, message=None, credit_left=None, ids=None, ids_key="SmsIds"):
        if params.get("contentType") in ("text/json", "application/json"):
            body = {"status": status}
            if message is not None:
                body["message"] = message
            if credit_left is not None:
                body["creditLeft"] = credit_left
            if ids is not None:
                body[ids_key] = ids
            return EmulatorResponse(200, body, "text/json")
        if status == 100:
            return EmulatorResponse(200, "OK\n" + credit_left + "\n" + "\n".join(ids) + "\n", "text/plain")
        return EmulatorResponse(200, f"KO\n{message}\n", "text/plain")

    def handle(self, request):
        if request.path != PATH:
            return EmulatorResponse(404, "<html><body><h1>Not Found</h1></body></html>", "text/html")
        if request.method != "GET":
            return EmulatorResponse(405, "<html><body><h1>Method Not Allowed</h1></body></html>", "text/html")
        params = request.query
        if params.get("account") != self.account:
            return self._answer(params, 401, "Invalid smsAccount")
        if params.get("login") != self.login or params.get("password") != self.password:
            return self._answer(params, 401, "Invalid login or password for this account")
        for name in ("to", "message"):
            if not params.get(name):
                return self._answer(params, 201, f"Missing {'receiver' if name == 'to' else name}")
        unknown = set(params) - FIELDS
        if unknown:
            return self._answer(params, 202, f"Invalid parameter: {', '.join(sorted(unknown))}")
        if params.get("smsCoding", "1") not in ("1", "2") or params.get("noStop", "0") not in ("0", "1"):
            return self._answer(params, 202, "Invalid smsCoding or noStop")
        sender = params.get("from", "")
        if sender and self.authorised_senders is not None and sender not in self.authorised_senders:
            return self._answer(params, 241, "Sender not found")
        numbers = params["to"].split(",")
        for number in numbers:
            if not re.fullmatch(r"00\d{7,15}", number) or number in self.invalid_numbers:
                return self._answer(params, 202, f"Invalid receiver: {number}")
        text, unicode = params["message"], params.get("smsCoding") == "2"
        if not unicode and any(c not in GSM7 for c in text):
            text = "".join(c if c in GSM7 else "?" for c in text)  # what the handset would show
        with self._state_lock:
            if not self.take_credits(segments(text, unicode) * len(numbers)):
                return self._answer(params, 202, "Not enough credit")
            left = f"{999999 if self.credits is None else self.credits:.2f}"
            ids = []
            for number in numbers:
                sms_id = str(next(self._ids))
                ids.append(sms_id)
                self.messages[sms_id] = {
                    "to": number,
                    "message": text,
                    "coding": params.get("smsCoding", "1"),
                    "sender": sender,
                    "no_stop": params.get("noStop", "0"),
                }
        return self._answer(params, 100, credit_left=left, ids=ids, ids_key=self.ids_key)

    # -- the phone's side: a reply sent to the account's replies callback ----------------------------------
    def send_inbound(self, url, number, text, reply_id=None, shortcode="38200"):
        """Call the replies callback ``url`` as OVH does (form): ``id``, ``senderid`` (``0033...``),
        ``message``, ``shortcode``, ``tag``, ``date``."""
        form = {
            "id": reply_id or str(uuid.uuid4().int % 10**9),
            "senderid": "00" + number.lstrip("+"),
            "message": text,
            "shortcode": shortcode,
            "tag": "",
            "date": "2026-12-03 08:00:00",
        }
        return requests.post(url, data=form, timeout=10)
