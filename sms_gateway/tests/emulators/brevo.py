"""Brevo transactional SMS emulator (api.brevo.com/v3).

Documented behaviour: ``POST /v3/transactionalSMS/send`` (current, answers
``{messageId}``) and ``POST /v3/transactionalSMS/sms`` (legacy, answers 201
``{reference, messageId, smsCount, usedCredits, remainingCredits}``), header
``api-key``, JSON body with ``sender``, ``recipient``, ``content``, ``type``,
``tag``, ``webUrl``, ``unicodeEnabled``, ``organisationPrefix``. Errors are
JSON ``{code, message}`` with HTTP 400/401/402/403. ``GET /v3/account``
lists ``plan[]`` entries, one of ``type`` ``sms`` with its ``credits``.

Test inputs:

* missing or wrong ``api-key`` -> 401 ``unauthorized``; a key listed in
  ``restricted_keys`` -> 403 ``permission_denied``;
* ``under_validation = True`` -> 403 ``account_under_validation``;
* ``credits`` (None = unlimited) charged per segment; not enough -> 402
  ``not_enough_credits``;
* an unknown or missing field, a bad ``type``, a non-boolean
  ``unicodeEnabled``, a ``sender`` over 11 alphanumerics / 15 digits or a
  ``recipient`` that is not 6-15 digits -> 400 ``invalid_parameter`` /
  ``missing_parameter``;
* ``GET /v3/transactionalSMS/statistics/events?phoneNumber=&tags=`` lists a ``sent`` event (``phoneNumber``,
  ``date``, ``messageId``, ``event``, ``tag``: the tags joined by commas) per message taken for that number with
  that tag, or ``{}`` when there is none; ``events_lag = True`` hides the events of the messages taken (Brevo
  records them asynchronously);
* ``tag``: a string or an array of at most 10 strings, else 400 ``invalid_parameter``;
* a recipient in ``invalid_numbers`` (digits, as sent, or ``INVALID_NUMBER``
  by default) -> 400 ``invalid_parameter`` "Invalid recipient mobile number",
  nothing taken nor charged (Brevo takes one recipient per call).
"""

import itertools
import re

import requests

from .base import EmulatorResponse, ProviderEmulator, segments

SEND_FIELDS = {"sender", "recipient", "content", "type", "tag", "webUrl", "unicodeEnabled", "organisationPrefix"}
REQUIRED_FIELDS = ("sender", "recipient", "content")
INVALID_NUMBER = "+33600000400"  # a well-formed number the emulator refuses as an invalid recipient


def _tags(value):
    return [value] if isinstance(value, str) and value else list(value or [])


def _error(status, code, message):
    return EmulatorResponse(status, {"code": code, "message": message})


class BrevoEmulator(ProviderEmulator):
    api_path = "/v3"

    def __init__(self, api_key="xkeysib-test", credits=None, latency=0.0):
        super().__init__(latency=latency, credits=credits)
        self.api_key = api_key
        self._ids = itertools.count(1000001)

    def reset_state(self):
        super().reset_state()  # messages: messageId -> the JSON body received
        self.restricted_keys = set()
        self.under_validation = False
        self.invalid_numbers = {INVALID_NUMBER.lstrip("+")}
        self.events_lag = False

    def handle(self, request):
        path = request.path.rstrip("/")
        routes = {
            ("POST", "/v3/transactionalSMS/send"): self._send,
            ("POST", "/v3/transactionalSMS/sms"): self._send_legacy,
            ("GET", "/v3/account"): self._account,
            ("GET", "/v3/transactionalSMS/statistics/events"): self._events,
        }
        route = routes.get((request.method, path))
        if route is None:
            return _error(404, "not_found", "Not found")
        key = request.headers.get("api-key")
        if not key or key not in {self.api_key} | self.restricted_keys:
            return _error(401, "unauthorized", "Key not found")
        if key in self.restricted_keys:
            return _error(403, "permission_denied", "Permission denied for this API key")
        if self.under_validation:
            return _error(403, "account_under_validation", "Your account is under validation")
        return route(request)

    def _account(self, request):
        with self._state_lock:
            credits = self.credits
        plans = [{"type": "free", "creditsType": "sendLimit", "credits": 300}]
        plans.append({"type": "sms", "creditsType": "sendLimit", "credits": 99999.0 if credits is None else credits})
        return EmulatorResponse(200, {"email": "owner@example.com", "companyName": "Example", "plan": plans})

    def _events(self, request):
        number, tag = request.query.get("phoneNumber", ""), request.query.get("tags", "")
        with self._state_lock:
            taken = [] if self.events_lag else list(self.messages.items())
        events = [
            {
                "phoneNumber": data["recipient"],
                "date": "2026-12-02T10:00:00.000+01:00",
                "messageId": message_id,
                "event": "sent",
                "tag": ",".join(_tags(data.get("tag"))),
            }
            for message_id, data in taken
            if (not number or data["recipient"] == number.lstrip("+")) and (not tag or tag in _tags(data.get("tag")))
        ]
        return EmulatorResponse(200, {"events": events} if events else {})

    def _validate(self, request):
        if "application/json" not in request.headers.get("content-type", ""):
            return _error(400, "bad_request", "Content-Type must be application/json")
        data = request.json
        if not isinstance(data, dict):
            return _error(400, "bad_request", "Invalid JSON body")
        unknown = sorted(set(data) - SEND_FIELDS)
        if unknown:
            return _error(400, "invalid_parameter", f"Unknown parameter: {unknown[0]}")
        for name in REQUIRED_FIELDS:
            if not data.get(name):
                return _error(400, "missing_parameter", f"{name} is missing")
        sender = str(data["sender"])
        if not (re.fullmatch(r"\d{1,15}", sender) or (len(sender) <= 11 and re.fullmatch(r"[A-Za-z0-9 ]+", sender))):
            return _error(400, "invalid_parameter", "Invalid sender: at most 11 alphanumeric or 15 numeric characters")
        recipient = str(data["recipient"])
        if not re.fullmatch(r"\d{6,15}", recipient) or recipient.lstrip("+") in self.invalid_numbers:
            return _error(400, "invalid_parameter", "Invalid recipient mobile number")
        tag = data.get("tag", "")
        if not (
            isinstance(tag, str) or (isinstance(tag, list) and len(tag) <= 10 and all(isinstance(t, str) for t in tag))
        ):
            return _error(400, "invalid_parameter", "tag must be a string or an array of at most 10 strings")
        if data.get("type", "transactional") not in ("transactional", "marketing"):
            return _error(400, "invalid_parameter", "type must be transactional or marketing")
        if not isinstance(data.get("unicodeEnabled", False), bool):
            return _error(400, "invalid_parameter", "unicodeEnabled must be a boolean")
        return None

    def _accept(self, data):
        """Charge and store a valid message; return (message id, segments) or None when out of credit."""
        parts = segments(data["content"], data.get("unicodeEnabled"))
        with self._state_lock:
            if not self.take_credits(parts):
                return None
            message_id = next(self._ids)
            self.messages[message_id] = data
        return message_id, parts

    def _take(self, request):
        """``((message id, segments), None)`` for a message taken, or ``(None, the error answer)``."""
        error = self._validate(request)
        if error:
            return None, error
        accepted = self._accept(request.json)
        if accepted is None:
            return None, _error(402, "not_enough_credits", "Not enough credits")
        return accepted, None

    def _send(self, request):
        accepted, error = self._take(request)
        return error or EmulatorResponse(201, {"messageId": accepted[0]})

    def _send_legacy(self, request):
        accepted, error = self._take(request)
        if error:
            return error
        message_id, parts = accepted
        with self._state_lock:
            remaining = 99999.0 if self.credits is None else self.credits
        return EmulatorResponse(
            201,
            {
                "reference": f"ab1cde2fgh3i4jklmno{message_id}",
                "messageId": message_id,
                "smsCount": parts,
                "usedCredits": float(parts),
                "remainingCredits": remaining,
            },
        )

    # -- the phone's side: an SMS event sent to the account's webhook --------------------------------------
    def send_inbound(self, url, number, text="", message_id=1000001, event="replied", date="2026-12-03 09:00:00"):
        """Post a transactional SMS event to ``url`` as Brevo does (JSON): ``replied`` with the text in
        ``reply``, or ``unsubscribed``; ``to`` is the phone (without ``+``), ``messageId`` our SMS."""
        body = {
            "id": 26570,
            "to": number.lstrip("+"),
            "sms_count": 1,
            "credits_used": 1,
            "messageId": message_id,
            "msg_status": event,
            "date": date,
            "type": "transactional",
        }
        if event == "replied":
            body["reply"] = text
        return requests.post(url, json=body, timeout=10)
