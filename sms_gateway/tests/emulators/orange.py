"""Orange Contact Everyone API Light emulator.

Documented behaviour: ``POST /api/light/diffusions/sms`` with ``token``,
``to``, ``msg``, optional ``xcharset`` (true/false), ``diffusionname``,
``category``, ``locale`` (fr_FR|en_GB) -> HTTP 200 with the identifier as
body; errors as JSON ``{"message", "logId"}``.

Test inputs: a wrong token -> 401 "Invalid token"; missing or unknown fields,
bad ``xcharset``/``locale`` -> 400; a ``to`` that is not a phone number or is
in ``INVALID_NUMBERS`` -> 400 "Invalid msisdn"; ``credits`` (None =
unlimited), one per message, none left -> 402 "Insufficient credit".
Like the real API, a well-formed but unreachable number is accepted.
"""

import itertools
import re
import uuid

from .base import EmulatorResponse, ProviderEmulator

PATH = "/api/light/diffusions/sms"
FIELDS = {"token", "to", "msg", "xcharset", "diffusionname", "category", "locale"}
INVALID_NUMBERS = {"+33600000009"}


class OrangeEmulator(ProviderEmulator):
    def __init__(self, token="orange-token", credits=None, latency=0.0):
        super().__init__(latency=latency, credits=credits)
        self.token = token
        self._ids = itertools.count(1)  # messages: identifier -> fields

    def _error(self, status, message):
        return EmulatorResponse(status, {"message": message, "logId": uuid.uuid4().hex[:12]})

    def handle(self, request):
        if request.path != PATH:
            return EmulatorResponse(404, "<html><body>Not Found</body></html>", "text/html")
        if request.method != "POST":
            return self._error(405, "Method not allowed")
        fields = request.params
        if fields.get("token") != self.token:
            return self._error(401, "Invalid token")
        unknown = set(fields) - FIELDS
        if unknown:
            return self._error(400, f"Unknown parameter(s): {', '.join(sorted(unknown))}")
        for name in ("to", "msg"):
            if not fields.get(name):
                return self._error(400, f"Missing parameter {name}")
        if fields.get("xcharset", "false") not in ("true", "false"):
            return self._error(400, "xcharset must be true or false")
        if fields.get("locale", "fr_FR") not in ("fr_FR", "en_GB"):
            return self._error(400, "Invalid locale")
        if not re.fullmatch(r"(\+|00)?\d{9,15}", fields["to"]) or fields["to"] in INVALID_NUMBERS:
            return self._error(400, f"Invalid msisdn {fields['to']}")
        with self._state_lock:
            if not self.take_credits(1):
                return self._error(402, "Insufficient credit")
            identifier = f"{next(self._ids):08d}-{uuid.uuid4().hex[:8]}"
            self.messages[identifier] = dict(fields)
        return EmulatorResponse(200, identifier, "text/plain")
