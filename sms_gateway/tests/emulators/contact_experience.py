"""Contact Experience (Gen-IP) emulator.

Documented behaviour: ``GET /ccv/webServicesCCV/SMS/sendSms.php`` with the
query parameters ``number``, ``msg``, ``devCode`` (the key) and
``emetteur`` (the e-mail address that receives replies). Success JSON
``{"size":<SMS count>,"total":null,"list":[{"id":"680560"}],"httpStatusCode":201}``;
errors ``{"status":"KO","message":"BAD DEV CODE "}`` and
``{"status":"KO","message":"Invalid number "}`` (with their trailing spaces).

Test inputs: a wrong ``devCode`` -> BAD DEV CODE; a number of
``invalid_numbers`` (``INVALID_NUMBER`` unless given) or a ``number`` that is
not a phone number -> Invalid number; a missing or non-e-mail ``emetteur`` /
missing ``msg`` or an unknown parameter -> a KO whose words are not documented;
``credits`` (None = unlimited), one per SMS part, too few left -> KO
"Crédit insuffisant " (a guess: the words for no credit are not published).
KO answers come with HTTP 200, as RDV-Solidarités' code expects.
"""

import itertools
import re

from .base import EmulatorResponse, ProviderEmulator, segments

INVALID_NUMBER = "+33600000999"
PATH = "/ccv/webServicesCCV/SMS/sendSms.php"
FIELDS = {"number", "msg", "devCode", "emetteur"}


def _ko(message):
    return EmulatorResponse(200, {"status": "KO", "message": message})


class ContactExperienceEmulator(ProviderEmulator):
    api_path = "/ccv/webServicesCCV/SMS"

    def __init__(self, dev_code="DEVCODE-123", latency=0.0, credits=None, invalid_numbers=None):
        self.initial_invalid_numbers = {INVALID_NUMBER} if invalid_numbers is None else set(invalid_numbers)
        super().__init__(latency=latency, credits=credits)
        self.dev_code = dev_code
        self._ids = itertools.count(680560)  # messages: id -> query received

    def reset_state(self):
        super().reset_state()
        self.invalid_numbers = set(self.initial_invalid_numbers)  # numbers refused as invalid (a test may add)

    def handle(self, request):
        if request.method != "GET" or request.path != PATH:
            return EmulatorResponse(404, "<html><body><h1>Not Found</h1></body></html>", "text/html")
        query = request.query
        unknown = sorted(set(query) - FIELDS)
        if unknown:
            return _ko(f"Unknown parameter {unknown[0]} ")
        if query.get("devCode") != self.dev_code:
            return _ko("BAD DEV CODE ")
        number = query.get("number", "")
        if number in self.invalid_numbers or not re.fullmatch(r"(\+|00)?\d{9,15}", number):
            return _ko("Invalid number ")
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", query.get("emetteur", "")):
            return _ko("Invalid emetteur ")
        text = query.get("msg", "")
        if not text:
            return _ko("Empty message ")
        size = segments(text, any(ord(c) > 0xFF for c in text))
        with self._state_lock:
            if not self.take_credits(size):
                return _ko("Crédit insuffisant ")
            message_id = str(next(self._ids))
            self.messages[message_id] = dict(query)
        return EmulatorResponse(200, {"size": size, "total": None, "list": [{"id": message_id}], "httpStatusCode": 201})
