"""SFR Business DMC JsonService emulator.

Documented behaviour: ``/DmcWS/<version>/JsonService/MessagesUnitairesWS/addSingleCall``
(GET query or POST form) with two parameters, each a JSON string:
``authenticate={"serviceId","servicePassword","spaceId"[,"lang"]}`` and
``messageUnitaire={"media","textMsg","to","from"[,"timeout","ttsVoice"]}``,
media in ``SMS|SMSLong|SMSUnicode|SMSUnicodeLong``. Success
``{"success":true,"response":<id>}``; every failure is HTTP 200 with
``"success": false``, ``errorCode`` and ``errorDetail``.

Test inputs:

* wrong ``serviceId``/``servicePassword``/``spaceId`` ->
  ``AUTHENTICATION_FAILED`` "Authentification échouée";
* a parameter missing or not JSON, an unknown field, a media outside the
  four values or that does not fit the text (Unicode text needs
  ``SMSUnicode*``, more than one segment needs ``*Long``) ->
  ``INVALID_PARAMETERS`` with ``invalidParams: true``;
* ``INVALID_NUMBER`` -> ``INVALID_NUMBER`` (a guess: SFR's other codes are
  not public).
"""

import itertools
import json
import re
import threading

from .base import EmulatorResponse, ProviderEmulator

INVALID_NUMBER = "+33600000404"
PATH = re.compile(r"^/DmcWS/[\d.]+/JsonService/MessagesUnitairesWS/addSingleCall/?$")
AUTH_FIELDS = {"serviceId", "servicePassword", "spaceId", "lang"}
MESSAGE_FIELDS = {"media", "textMsg", "to", "from", "timeout", "ttsVoice"}
MEDIAS = {"SMS", "SMSLong", "SMSUnicode", "SMSUnicodeLong"}
GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€"
)


def _failure(code, detail, **extra):
    return EmulatorResponse(200, {"success": False, "errorCode": code, "errorDetail": detail, **extra})


class SfrDmcEmulator(ProviderEmulator):
    def __init__(self, service_id="svc123", password="pw-sfr", space_id="4242", latency=0.0):
        super().__init__(latency=latency)
        self.service_id = service_id
        self.password = password
        self.space_id = space_id
        self.messages = {}  # response id -> messageUnitaire
        self._ids = itertools.count(26441597)
        self._state_lock = threading.Lock()

    def handle(self, request):
        if request.method not in ("GET", "POST") or not PATH.match(request.path):
            return EmulatorResponse(404, "<html><body><h1>HTTP Status 404 - Not Found</h1></body></html>", "text/html")
        params = request.params
        try:
            auth = json.loads(params["authenticate"])
            message = json.loads(params["messageUnitaire"])
        except (KeyError, ValueError):
            return _failure("INVALID_PARAMETERS", "authenticate et messageUnitaire (JSON) attendus", invalidParams=True)
        if not isinstance(auth, dict) or not isinstance(message, dict):
            return _failure("INVALID_PARAMETERS", "objets JSON attendus", invalidParams=True)
        unknown = sorted((set(auth) - AUTH_FIELDS) | (set(message) - MESSAGE_FIELDS))
        if unknown:
            return _failure("INVALID_PARAMETERS", f"Paramètre inconnu : {unknown[0]}", invalidParams=True)
        if (auth.get("serviceId"), auth.get("servicePassword"), str(auth.get("spaceId"))) != (
            self.service_id,
            self.password,
            self.space_id,
        ):
            return _failure("AUTHENTICATION_FAILED", "Authentification échouée")
        text, to, media = message.get("textMsg"), message.get("to"), message.get("media")
        if not text or not to or media not in MEDIAS:
            return _failure("INVALID_PARAMETERS", "media, textMsg et to sont obligatoires", invalidParams=True)
        unicode = any(c not in GSM7 for c in text)
        long = len(text) > (70 if unicode else 160)
        if unicode and "Unicode" not in media:
            return _failure("INVALID_PARAMETERS", f"Le media {media} ne permet pas ce texte", invalidParams=True)
        if long and not media.endswith("Long"):
            return _failure("INVALID_PARAMETERS", f"Texte trop long pour le media {media}", invalidParams=True)
        if to == INVALID_NUMBER:
            return _failure("INVALID_NUMBER", "Numéro de téléphone invalide")
        with self._state_lock:
            message_id = next(self._ids)
            self.messages[message_id] = message
        return EmulatorResponse(200, {"success": True, "response": message_id})
