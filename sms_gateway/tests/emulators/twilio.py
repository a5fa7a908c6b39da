"""Twilio REST API emulator (Messages and Balance of API 2010-04-01).

Documented behaviour: ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``
with HTTP Basic ``AccountSid:AuthToken`` and form fields ``To``, ``Body``,
``From`` or ``MessagingServiceSid``, optional ``StatusCallback`` -> 201 JSON
``{sid, status: "queued", num_segments, ...}``; errors as JSON
``{code, message, more_info, status}``. ``GET .../Balance.json`` ->
``{account_sid, balance, currency}``. ``GET .../Messages.json`` lists the
messages, newest first, filtered on ``To``, ``From`` and ``DateSent`` (also
``DateSent>``/``DateSent<``: on or after / before a ``YYYY-MM-DD`` day, UTC),
``PageSize`` (50, at most 1000) and ``Page``, with ``next_page_uri``.

Test inputs (Twilio's own magic test numbers where they exist):

* wrong AccountSid / AuthToken, or a path SID other than the Basic user -> 401, code 20003;
* To ``+15005550001`` -> 21211 (invalid), ``+15005550002`` -> 21612 (cannot route),
  ``+15005550003`` -> 21408 (region not enabled), ``+15005550004`` -> 21610 (unsubscribed),
  ``+15005550009`` -> 21614 (not a mobile), ``+15005550008`` -> 21608 (unverified, trial);
* To ``+15005550429`` -> 429, code 20429 (too many requests);
* ``invalid_numbers`` (a set a test fills, emptied by ``reset_state``) -> 400, code 21211, as the magic number;
* ``balance`` (None = 1000 shown, never charged) is charged ``price`` per segment, and ``credits`` (None:
  unlimited) one per segment: Twilio documents no "insufficient funds" answer; an account whose balance
  reached $0 is suspended and answers 10001 "Account is not active" (twilio.com/docs/api/errors/10001; the
  HTTP status is not documented: 403 here);
* unknown form fields, a missing To/Body/From -> 400 (21604/21602/21603).
"""

import base64
import email.utils
import hashlib
import hmac
import itertools
import urllib.parse
import uuid
from datetime import datetime, timezone

import requests

from .base import EmulatorResponse, ProviderEmulator, segments

MESSAGE_FIELDS = {"To", "Body", "From", "MessagingServiceSid", "StatusCallback"}

ERROR_NUMBERS = {
    "+15005550001": (400, 21211, "The 'To' number {to} is not a valid phone number."),
    "+15005550002": (400, 21612, "The 'To' phone number: {to}, is not currently reachable via SMS."),
    "+15005550003": (400, 21408, "Permission to send an SMS has not been enabled for the region of {to}."),
    "+15005550004": (400, 21610, "Attempt to send to unsubscribed recipient"),
    "+15005550008": (400, 21608, "The number {to} is unverified. Trial accounts cannot send to it."),
    "+15005550009": (400, 21614, "'To' number is not a valid mobile number"),
    "+15005550429": (429, 20429, "Too Many Requests"),
}


def _error(status, code, message):
    return EmulatorResponse(
        status,
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
    )


def _segments(body):
    return segments(body, any(ord(c) > 0x7F for c in body))


class TwilioEmulator(ProviderEmulator):
    def __init__(
        self, account_sid="AC" + "0" * 31 + "1", auth_token="twilio-token", balance=None, price=0.0079, latency=0.0
    ):
        self.initial_balance = balance
        super().__init__(latency=latency)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.price = price
        self.currency = "USD"
        self._ids = itertools.count(1)

    def reset_state(self):
        super().reset_state()  # messages: sid -> form fields accepted
        self.balance = self.initial_balance  # None = unlimited
        self.sent_dates = {}  # sid -> datetime (UTC) the message was taken; a test may move it back
        self.created_dates = {}  # sid -> datetime (UTC) the message was created
        self.hold_queued = False  # True: accepted messages stay queued (no date_sent), as under a Twilio backlog
        self.invalid_numbers = set()  # To numbers answered 21211, besides the magic ones

    def _authorised(self, request, path_sid):
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _sep, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == self.account_sid == path_sid and password == self.auth_token

    def handle(self, request):
        parts = request.path.strip("/").split("/")
        # 2010-04-01 / Accounts / {sid} / Messages.json | Balance.json
        if len(parts) != 4 or parts[0] != "2010-04-01" or parts[1] != "Accounts":
            return _error(404, 20404, "The requested resource was not found")
        path_sid, resource = parts[2], parts[3]
        if not self._authorised(request, path_sid):
            return _error(401, 20003, "Authenticate")
        if resource == "Balance.json" and request.method == "GET":
            with self._state_lock:
                balance = 1000.0 if self.balance is None else self.balance
            return EmulatorResponse(
                200,
                {
                    "account_sid": self.account_sid,
                    "balance": f"{balance:.5f}",
                    "currency": self.currency,
                },
            )
        if resource == "Messages.json" and request.method == "POST":
            return self._create_message(request)
        if resource == "Messages.json" and request.method == "GET":
            return self._list_messages(request)
        return _error(404, 20404, "The requested resource was not found")

    def _create_message(self, request):
        if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
            return _error(400, 21602, "Message body is required.")
        form = request.form
        unknown = set(form) - MESSAGE_FIELDS
        if unknown:
            return _error(400, 20001, f"Unknown parameters: {', '.join(sorted(unknown))}")
        to, body = form.get("To"), form.get("Body")
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if not body:
            return _error(400, 21602, "Message body is required.")
        if not (form.get("From") or form.get("MessagingServiceSid")):
            return _error(400, 21603, "A 'From' phone number is required.")
        if to in ERROR_NUMBERS or to in self.invalid_numbers:
            status, code, message = ERROR_NUMBERS.get(to) or ERROR_NUMBERS["+15005550001"]
            return _error(status, code, message.format(to=to))
        segments = _segments(body)
        with self._state_lock:
            cost = segments * self.price
            if (self.balance is not None and self.balance <= 0) or not self.take_credits(segments):
                return _error(403, 10001, "Account is not active")
            if self.balance is not None:
                self.balance -= cost
            sid = f"SM{next(self._ids):08x}{uuid.uuid4().hex[:24]}"
            self.messages[sid] = dict(form)
            self.created_dates[sid] = datetime.now(timezone.utc)
            if not self.hold_queued:
                self.sent_dates[sid] = self.created_dates[sid]
        return EmulatorResponse(
            201,
            {
                "sid": sid,
                "account_sid": self.account_sid,
                "to": to,
                "from": form.get("From"),
                "messaging_service_sid": form.get("MessagingServiceSid"),
                "body": body,
                "status": "queued",
                "num_segments": str(segments),
                "error_code": None,
                "error_message": None,
                "api_version": "2010-04-01",
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
            },
        )

    def _list_messages(self, request):
        query = request.query
        try:
            page_size = min(int(query.get("PageSize") or 50), 1000)
            page = int(query.get("Page") or 0)
        except ValueError:
            return _error(400, 20001, "Invalid PageSize or Page")
        day_filters = []
        for name, test in (
            ("DateSent", lambda day, ref: day == ref),
            ("DateSent>", lambda day, ref: day >= ref),
            ("DateSent<", lambda day, ref: day <= ref),
        ):
            if query.get(name):
                try:
                    day_filters.append((test, datetime.strptime(query[name], "%Y-%m-%d").date()))
                except ValueError:
                    return _error(400, 20001, f"Invalid {name}: {query[name]}")
        with self._state_lock:
            items = [(sid, dict(form), self.sent_dates.get(sid)) for sid, form in self.messages.items()]
            created = dict(self.created_dates)
        selected = [
            (sid, form, sent)
            for sid, form, sent in reversed(items)  # newest first
            if (not query.get("To") or form.get("To") == query["To"])
            and (not query.get("From") or form.get("From") == query["From"])
            and all(sent and test(sent.date(), ref) for test, ref in day_filters)
        ]
        chunk = selected[page * page_size : (page + 1) * page_size]
        base = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        next_query = {k: v for k, v in query.items() if k not in ("Page", "PageSize")}
        next_page_uri = None
        if (page + 1) * page_size < len(selected):
            next_query.update(PageSize=page_size, Page=page + 1)
            next_page_uri = f"{base}?{urllib.parse.urlencode(next_query)}"
        messages = [
            {
                "sid": sid,
                "account_sid": self.account_sid,
                "to": form.get("To"),
                "from": form.get("From"),
                "messaging_service_sid": form.get("MessagingServiceSid"),
                "body": form.get("Body"),
                "direction": "outbound-api",
                "status": "sent" if sent else "queued",
                "num_segments": str(_segments(form.get("Body") or "")),
                "date_created": email.utils.format_datetime(created[sid]) if sid in created else None,
                "date_sent": email.utils.format_datetime(sent) if sent else None,
            }
            for sid, form, sent in chunk
        ]
        return EmulatorResponse(
            200, {"messages": messages, "page": page, "page_size": page_size, "next_page_uri": next_page_uri}
        )

    # -- the phone's side: an incoming message posted to the account's webhook ------------------------------
    def send_inbound(
        self, url, number, text, to="+15005550006", sid=None, opt_out_type=None, sign=True, signed_url=None, **extra
    ):
        """Post an incoming message to ``url`` as Twilio does (form, signed ``X-Twilio-Signature`` with the
        auth token, over the URL (``signed_url``: another one, for forgeries) and the sorted parameters);
        return the ``requests`` response."""
        sid = sid or f"SM{uuid.uuid4().hex}"
        form = {
            "MessageSid": sid,
            "SmsSid": sid,
            "SmsMessageSid": sid,
            "AccountSid": self.account_sid,
            "From": number,
            "To": to,
            "Body": text,
            "NumMedia": "0",
            "NumSegments": "1",
            "SmsStatus": "received",
            "ApiVersion": "2010-04-01",
            **extra,
        }
        if opt_out_type:
            form["OptOutType"] = opt_out_type
        headers = {}
        if sign:
            data = (signed_url or url) + "".join(f"{name}{form[name]}" for name in sorted(form))
            digest = hmac.new(self.auth_token.encode(), data.encode(), hashlib.sha1).digest()
            headers["X-Twilio-Signature"] = base64.b64encode(digest).decode()
        return requests.post(url, data=form, headers=headers, timeout=10)
