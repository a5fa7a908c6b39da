"""Clever Technologies "Multimedias" emulator (webservicesmultimedias.clever-is.fr).

Documented behaviour: ``POST /api/pushs``, ``Authorization: Basic
base64(login:password)``, JSON ``{"datas": {"text", "number_list",
"encodage"}}``. Success HTTP 201 ``{"push": {"nb_sms": …, "error": …}}``
(no message id); errors ``{"errors": {…}}`` with 401 (unauthorized), 402
(payment required: credit exhausted), 430 (account expired), 400 (bad
request). Wrong numbers are not reported.

Test inputs: wrong credentials -> 401; ``credits`` (None = unlimited) per
segment, exhausted -> 402; ``expired = True`` -> 430; an unknown field, a
missing ``text``/``number_list`` or an ``encodage`` outside ``encodages``
-> 400; a number in ``invalid_numbers`` (``INVALID_NUMBER`` by default) or one that is not
a phone number -> 400 ``{"errors": {"number_list": ["This value is not a valid phone number."]}}``,
nothing taken (the push is refused as a whole).
"""

import base64
import re

from .base import EmulatorResponse, ProviderEmulator, segments

DATAS_FIELDS = {"text", "number_list", "encodage"}
INVALID_NUMBER = "+33600000430"  # a well-formed number the emulator refuses


def _errors(status, **errors):
    return EmulatorResponse(status, {"errors": errors})


class CleverEmulator(ProviderEmulator):
    api_path = "/api"

    def __init__(self, login="clever-login", password="clever-pass", credits=None, latency=0.0):
        super().__init__(latency=latency, credits=credits)
        self.login = login
        self.password = password
        self.encodages = {3, 4}

    def reset_state(self):
        super().reset_state()
        self.expired = False
        self.pushes = []  # the datas received and accepted
        self.invalid_numbers = {INVALID_NUMBER}

    def handle(self, request):
        if (request.method, request.path.rstrip("/")) != ("POST", "/api/pushs"):
            return _errors(404, route="Not found")
        expected = "Basic " + base64.b64encode(f"{self.login}:{self.password}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return _errors(401, auth="Unauthorized")
        if self.expired:
            return _errors(430, account="Account expired")
        body = request.json
        if not isinstance(body, dict) or set(body) != {"datas"} or not isinstance(body["datas"], dict):
            return _errors(400, datas="This value should not be blank.")
        datas = body["datas"]
        unknown = sorted(set(datas) - DATAS_FIELDS)
        if unknown:
            return _errors(400, **{unknown[0]: "This field was not expected."})
        if not datas.get("text") or not isinstance(datas.get("number_list"), str) or not datas["number_list"]:
            return _errors(400, text="text and number_list are required")
        if datas.get("encodage") not in self.encodages:
            return _errors(400, encodage="Invalid encodage")
        numbers = [n.strip() for n in datas["number_list"].split(",") if n.strip()]
        if any(n in self.invalid_numbers or not re.fullmatch(r"(\+|00)?\d{8,15}", n) for n in numbers):
            return _errors(400, number_list=["This value is not a valid phone number."])
        nb_sms = segments(datas["text"], datas["encodage"] != 3) * len(numbers)
        with self._state_lock:
            if not self.take_credits(nb_sms):
                return _errors(402, credit="Payment Required: not enough credit")
            self.pushes.append(datas)
        return EmulatorResponse(201, {"push": {"nb_sms": nb_sms, "error": 0}})
