"""Emulator of three typical HTTP SMS gateways, for the generic connector.

* ``POST /sms/json`` JSON ``{"to", "text", "sender"[, "unicode", "ref"]}`` ->
  ``{"status": 100, "result": {"smsIds": [...]}}`` or ``{"status": 2xx, "message"}``;
* ``GET /send?text=&to=&sender=&pushtype=`` (SMS Factor style) ->
  ``{"status": 1, "message": "OK", "ticket", "cost", "credits"}`` or
  ``{"status": <negative>, "message"}``;
* ``POST /form`` form ``to``, ``msg``, ``from`` -> text ``OK <id>`` or ``KO <reason>``.

``auth`` (one for all paths): None, ``("basic", user, password)``,
``("header", name, value)`` or ``("param", name, value)`` (in the query, form
or JSON body); a request without it gets HTTP 401. Unknown or missing fields
-> HTTP 400. Test inputs: numbers in ``invalid_numbers`` (``INVALID_NUMBERS``
unless a test changes it) are refused by the gateway (HTTP 200 with its error
answer); ``credits`` (None = unlimited) is charged one per message, none left
-> the gateway's "no credit" answer; ``lang`` "fr" words them in French (the
text answers of ``/form`` come as ``text/plain`` without charset, UTF-8 bytes).
"""

import base64
import itertools

import requests

from .base import EmulatorResponse, ProviderEmulator

INVALID_NUMBERS = {"+33600000009", "33600000009"}
ROUTES = {
    ("POST", "/sms/json"): ({"to", "text"}, {"sender", "unicode", "ref"}),
    ("GET", "/send"): ({"to", "text"}, {"sender", "pushtype"}),
    ("POST", "/form"): ({"to", "msg"}, {"from"}),
}


class GenericHttpEmulator(ProviderEmulator):
    def __init__(self, auth=None, credits=None, latency=0.0):
        self.initial_auth = auth
        super().__init__(latency=latency, credits=credits)
        self._ids = itertools.count(1)  # messages: id -> fields

    def reset_state(self):
        super().reset_state()
        self.auth = self.initial_auth
        self.invalid_numbers = set(INVALID_NUMBERS)
        self.lang = "en"

    def _fields(self, request):
        if request.method == "GET":
            return dict(request.query)
        if request.path == "/sms/json":
            return dict(request.json) if isinstance(request.json, dict) else None
        return dict(request.form)

    def _authorised(self, request, fields):
        if not self.auth:
            return True
        kind, name, value = self.auth
        if kind == "basic":
            expected = "Basic " + base64.b64encode(f"{name}:{value}".encode()).decode()
            return request.headers.get("authorization") == expected
        if kind == "header":
            return request.headers.get(name.lower()) == value
        return fields.pop(name, None) == value  # param

    def handle(self, request):
        route = ROUTES.get((request.method, request.path))
        if not route:
            return EmulatorResponse(404, "<html><body>Not Found</body></html>", "text/html")
        fields = self._fields(request)
        if fields is None:
            return EmulatorResponse(400, {"error": "JSON body expected"})
        if not self._authorised(request, fields):
            return EmulatorResponse(401, {"error": "unauthorized"})
        required, optional = route
        if not required <= set(fields) or not set(fields) <= required | optional:
            return EmulatorResponse(400, {"error": f"bad fields: {sorted(fields)}"})
        number = str(fields["to"])
        with self._state_lock:
            french = self.lang == "fr"
            if number in self.invalid_numbers:
                return self._refused(request.path, "invalid", "Numéro invalide" if french else "Invalid number")
            if not self.take_credits(1):
                return self._refused(request.path, "credit", "Crédit insuffisant" if french else "Not enough credits")
            sms_id = f"G{next(self._ids):06d}"
            self.messages[sms_id] = fields
            credits = self.credits
        if request.path == "/sms/json":
            return EmulatorResponse(200, {"status": 100, "result": {"smsIds": [sms_id]}})
        if request.path == "/send":
            return EmulatorResponse(
                200,
                {
                    "status": 1,
                    "message": "OK",
                    "ticket": sms_id,
                    "cost": 1,
                    "credits": credits if credits is not None else 9999,
                },
            )
        return EmulatorResponse(200, f"OK {sms_id}\n".encode(), "text/plain")

    @staticmethod
    def _refused(path, reason, text):
        if path == "/sms/json":
            return EmulatorResponse(200, {"status": 201 if reason == "invalid" else 202, "message": text})
        if path == "/send":
            return EmulatorResponse(200, {"status": -3 if reason == "invalid" else -4, "message": text})
        return EmulatorResponse(200, f"KO {text}\n".encode(), "text/plain")  # UTF-8, no charset

    # -- the phone's side: a reply forwarded to the account's inbound URL -----------------------------------
    @staticmethod
    def send_inbound(url, fields, method="POST"):
        """Forward a reply to ``url`` with the gateway's own ``fields`` (a dict: form for POST, query for GET)."""
        if method == "GET":
            return requests.get(url, params=fields, timeout=10)
        return requests.post(url, data=fields, timeout=10)
