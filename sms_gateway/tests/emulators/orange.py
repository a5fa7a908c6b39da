"""Orange Contact Everyone API Light emulator.

Documented behaviour: ``POST /api/light/diffusions/sms`` with ``token``,
``to``, ``msg``, optional ``xcharset`` (true/false), ``diffusionname``,
``category``, ``locale`` (fr_FR|en_GB) -> HTTP 200 with the identifier as
body; errors as JSON ``{"message", "logId"}`` with a 4xx status. One recipient
per call.

Test inputs: a wrong token -> 401 "Invalid token"; missing or unknown fields,
bad ``xcharset``/``locale`` -> 400; a ``to`` that is not a phone number or is
in ``invalid_numbers`` (``INVALID_NUMBERS`` unless given) -> 400 "Invalid
msisdn <to>"; ``credits`` (None = unlimited), one per message, none left ->
402 "Insufficient credit". The error words are French with ``locale=fr_FR``
(the words Orange publishes are not known: these are guesses of the same kind).
Like the real API, a well-formed but unreachable number is accepted.
"""

import itertools
import re
import uuid

from .base import EmulatorResponse, ProviderEmulator

PATH = "/api/light/diffusions/sms"
FIELDS = {"token", "to", "msg", "xcharset", "diffusionname", "category", "locale"}
INVALID_NUMBERS = {"+33600000009"}
WORDS = {
    "en_GB": {
        "token": "Invalid token",
        "missing": "Missing parameter {name}",
        "msisdn": "Invalid msisdn {to}",
        "credit": "Insufficient credit",
    },
    "fr_FR": {
        "token": "Jeton invalide",
        "missing": "Paramètre {name} manquant",
        "msisdn": "Numéro de destinataire invalide : {to}",
        "credit": "Crédit insuffisant",
    },
}


class OrangeEmulator(ProviderEmulator):
    def __init__(self, token="orange-token", credits=None, latency=0.0, invalid_numbers=None):
        self.initial_invalid_numbers = set(INVALID_NUMBERS if invalid_numbers is None else invalid_numbers)
        super().__init__(latency=latency, credits=credits)
        self.token = token
        self._ids = itertools.count(1)  # messages: identifier -> fields

    def reset_state(self):
        super().reset_state()
        self.invalid_numbers = set(self.initial_invalid_numbers)  # numbers refused as invalid (a test may add)

    def _error(self, status, message):
        return EmulatorResponse(status, {"message": message, "logId": uuid.uuid4().hex[:12]})

    def handle(self, request):
        if request.path != PATH:
            return EmulatorResponse(404, "<html><body>Not Found</body></html>", "text/html")
        if request.method != "POST":
            return self._error(405, "Method not allowed")
        fields = request.params
        words = WORDS.get(fields.get("locale"), WORDS["en_GB"])
        if fields.get("token") != self.token:
            return self._error(401, words["token"])
        unknown = set(fields) - FIELDS
        if unknown:
            return self._error(400, f"Unknown parameter(s): {', '.join(sorted(unknown))}")
        for name in ("to", "msg"):
            if not fields.get(name):
                return self._error(400, words["missing"].format(name=name))
        if fields.get("xcharset", "false") not in ("true", "false"):
            return self._error(400, "xcharset must be true or false")
        if fields.get("locale", "fr_FR") not in ("fr_FR", "en_GB"):
            return self._error(400, "Invalid locale")
        if not re.fullmatch(r"(\+|00)?\d{9,15}", fields["to"]) or fields["to"] in self.invalid_numbers:
            return self._error(400, words["msisdn"].format(to=fields["to"]))
        with self._state_lock:
            if not self.take_credits(1):
                return self._error(402, words["credit"])
            identifier = f"{next(self._ids):08d}-{uuid.uuid4().hex[:8]}"
            self.messages[identifier] = dict(fields)
        return EmulatorResponse(200, identifier, "text/plain")
