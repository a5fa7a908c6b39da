"""Mobimel (Adista) newer GET API emulator.

Documented behaviour: ``GET /api/envoyer/sms`` with ``key``, ``type``,
``message``, ``destinataires``, ``expediteur`` -> ``{"resultat": 1}`` or
``{"resultat": 0, "erreurs": "..."}`` (always HTTP 200).

Test inputs: a wrong ``key`` -> "Clé API invalide"; a missing field or an
unknown one, a ``type`` other than premium/lowcost -> "Paramètre ..."; a
``destinataires`` that is not a phone number or is in ``invalid_numbers`` (``INVALID_NUMBERS`` and what a
test adds; back to ``INVALID_NUMBERS`` on ``reset_state``) ->
"Numéro de destinataire invalide"; ``credits`` (None = unlimited), one per
message, none left -> "Crédit insuffisant"; ``expediteur`` longer than 11
characters -> "L'expéditeur ne peut pas dépasser 11 caractères".
"""

import re

from .base import EmulatorResponse, ProviderEmulator

PATH = "/api/envoyer/sms"
REQUIRED = {"key", "type", "message", "destinataires"}
OPTIONAL = {"expediteur"}
INVALID_NUMBERS = {"+33600000009"}


def _ko(text):
    return EmulatorResponse(200, {"resultat": 0, "erreurs": text})


class MobimelEmulator(ProviderEmulator):
    def __init__(self, key="mobimel-key", credits=None, latency=0.0):
        super().__init__(latency=latency, credits=credits)
        self.key = key

    def reset_state(self):
        super().reset_state()
        self.messages = []  # accepted query dicts
        self.invalid_numbers = set(INVALID_NUMBERS)

    def handle(self, request):
        if request.path != PATH:
            return EmulatorResponse(404, "<html><body>Page introuvable</body></html>", "text/html")
        if request.method != "GET":
            return EmulatorResponse(405, "<html><body>Method Not Allowed</body></html>", "text/html")
        params = request.query
        if params.get("key") != self.key:
            return _ko("Clé API invalide")
        missing = REQUIRED - {k for k, v in params.items() if v}
        unknown = set(params) - REQUIRED - OPTIONAL
        if missing or unknown:
            return _ko(f"Paramètre manquant ou inconnu : {', '.join(sorted(missing | unknown))}")
        if params["type"] not in ("premium", "lowcost"):
            return _ko("Paramètre type incorrect")
        if len(params.get("expediteur", "")) > 11:
            return _ko("L'expéditeur ne peut pas dépasser 11 caractères")
        number = params["destinataires"]
        if not re.fullmatch(r"(\+|00)?\d{9,15}", number) or number in self.invalid_numbers:
            return _ko("Numéro de destinataire invalide")
        with self._state_lock:
            if not self.take_credits(1):
                return _ko("Crédit insuffisant")
            self.messages.append(dict(params))
        return EmulatorResponse(200, {"resultat": 1})
