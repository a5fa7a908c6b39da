"""Link Mobility (Netsize) IPX REST emulator.

Documented behaviour: ``POST /restapi/v1/sms/send``,
``application/x-www-form-urlencoded; charset=UTF-8``, HTTP Basic auth, fields
``destinationAddress``, ``messageText``, ``originatingAddress``,
``originatorTON`` (1 alphanumeric, 2 shortcode, 3 MSISDN),
``maxConcatenatedMessages``, ``campaignName``. Answers HTTP 200 JSON
``{responseCode, responseMessage, timestamp, traceId, messageIds}`` (one id
per segment), ``responseCode`` 0 on success.

Test inputs:

* a wrong password -> HTTP 401; the right password with another username ->
  responseCode 103 (invalid account name);
* a destination in ``invalid_numbers`` (``INVALID_NUMBER`` by default) or
  one that is not a phone number -> 100 "Invalid destination address",
  nothing taken nor charged;
  ``UNROUTABLE_NUMBER`` -> 16;
* more segments than ``maxConcatenatedMessages`` -> 15;
* ``credits`` (None = unlimited) charged per segment, too low -> 18;
* a ``campaignName`` not in ``campaigns`` -> 117.
"""

import base64
import itertools
import re
import time
import uuid

from .base import EmulatorResponse, ProviderEmulator, segments

INVALID_NUMBER = "+33600000100"
UNROUTABLE_NUMBER = "+33600000016"
FIELDS = {
    "destinationAddress",
    "messageText",
    "originatingAddress",
    "originatorTON",
    "maxConcatenatedMessages",
    "campaignName",
}


class LinkMobilityEmulator(ProviderEmulator):
    api_path = "/restapi/v1"

    def __init__(self, username="ipxuser", password="ipxpass", credits=None, latency=0.0):
        super().__init__(latency=latency, credits=credits)
        self.username = username
        self.password = password
        self._ids = itertools.count(6420598420)  # messages: first message id -> form received

    def reset_state(self):
        super().reset_state()
        self.campaigns = set()
        self.invalid_numbers = {INVALID_NUMBER}

    def _answer(self, code, message, ids=()):
        return EmulatorResponse(
            200,
            {
                "responseCode": code,
                "responseMessage": message,
                "timestamp": int(time.time() * 1000),
                "traceId": uuid.uuid4().hex,
                "messageIds": list(ids),
            },
        )

    def handle(self, request):
        if (request.method, request.path.rstrip("/")) != ("POST", "/restapi/v1/sms/send"):
            return EmulatorResponse(404, "<html><body>Not Found</body></html>", "text/html")
        auth = request.headers.get("authorization", "")
        try:
            user, _sep, password = base64.b64decode(auth.removeprefix("Basic ")).decode().partition(":")
        except ValueError:
            user = password = None
        if not auth.startswith("Basic ") or password != self.password:
            return EmulatorResponse(401, "Unauthorized", headers={"WWW-Authenticate": 'Basic realm="IPX"'})
        if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
            return EmulatorResponse(415, "Unsupported Media Type")
        form = request.form
        unknown = sorted(set(form) - FIELDS)
        if unknown:
            return EmulatorResponse(400, f"Unknown parameter {unknown[0]}")
        if user != self.username:
            return self._answer(103, "Invalid account name")
        if "campaignName" in form and form["campaignName"] not in self.campaigns:
            return self._answer(117, "Invalid campaign name")
        number = form.get("destinationAddress", "")
        if number in self.invalid_numbers or not re.fullmatch(r"(\+|00)?\d{8,15}", number):
            return self._answer(100, "Invalid destination address")
        if number == UNROUTABLE_NUMBER:
            return self._answer(16, "Unable to route message")
        text = form.get("messageText", "")
        if not text:
            return self._answer(1, "Missing messageText")
        originator, ton = form.get("originatingAddress"), form.get("originatorTON")
        if originator is not None and (len(originator) > 16 or ton not in ("1", "2", "3")):
            return self._answer(2, "Invalid originating address")
        parts = segments(text, any(ord(c) > 0xFF for c in text))
        if parts > int(form.get("maxConcatenatedMessages") or 1):
            return self._answer(15, "Concatenation limit exceeded")
        with self._state_lock:
            if not self.take_credits(parts):
                return self._answer(18, "Too low balance")
            ids = [f"1-{next(self._ids)}" for _i in range(parts)]
            self.messages[ids[0]] = dict(form)
        return self._answer(0, "Success", ids)
