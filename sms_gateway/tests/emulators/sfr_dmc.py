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
* a ``to`` of ``invalid_numbers`` (``INVALID_NUMBER`` unless given) ->
  ``INVALID_PARAMETERS`` whose ``errorDetail`` names the recipient,
  "Numéro de téléphone invalide : <to>" (a guess: SFR's other codes are not
  public; the words, not the code, say it is the number);
* ``credits`` (None = unlimited), one per message, none left ->
  ``ACCOUNT_ERROR`` "Crédit SMS insuffisant" (a guess of the same kind: a code
  about the account, words about the credit);
* ``buffer_answers``: answer as the DmcBufferWS does, plain text ``OK`` or
  ``KO<authentication_failed:{null}>`` / ``KO<invalid_number:{<to>}>`` /
  ``KO<credit_exhausted:{null}>`` (only ``OK`` and the first are documented).

Delivery reports pulled with ``.../MessagesUnitairesWS/getSingleCallCra``
(``authenticate``, ``dSince`` ``YYYY-MM-DD HH:MM:SS``, optional ``idSince``):
the reports of the messages taken since ``dSince`` with an id above
``idSince``, by id, at most ``cra_page_size`` per call, as CSV (``;``,
columns ``ID;Date;Media;To;Statut``) in the body, or as the ``response`` of
``{"success": true}`` when ``cra_json`` is set. ``Statut``: "Non distribué"
for ``UNDELIVERED_NUMBER``, "Distribué" for the others; a test may set
``cra_statuses[id]``. The public documentation names only the ``ID`` column.
"""

import itertools
import json
import re
from datetime import datetime

from .base import EmulatorResponse, ProviderEmulator

INVALID_NUMBER = "+33600000404"
UNDELIVERED_NUMBER = "+33600000410"
PATH = re.compile(r"^/DmcWS/[\d.]+/JsonService/MessagesUnitairesWS/(addSingleCall|getSingleCallCra)/?$")
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
    api_path = "/DmcWS/1.5.8/JsonService"

    def __init__(
        self, service_id="svc123", password="pw-sfr", space_id="4242", latency=0.0, credits=None, invalid_numbers=None
    ):
        self.initial_invalid_numbers = {INVALID_NUMBER} if invalid_numbers is None else set(invalid_numbers)
        super().__init__(latency=latency, credits=credits)
        self.service_id = service_id
        self.password = password
        self.space_id = space_id
        self._ids = itertools.count(26441597)

    def reset_state(self):
        super().reset_state()  # messages: response id -> messageUnitaire
        self.dates = {}  # response id -> datetime taken (a test may move it back)
        self.cra_statuses = {}  # response id -> Statut given instead of the default
        self.cra_page_size = 1000
        self.cra_json = False
        self.invalid_numbers = set(self.initial_invalid_numbers)  # numbers refused as invalid (a test may add)
        self.buffer_answers = False  # plain-text OK / KO<code:{detail}> answers, as DmcBufferWS gives

    def handle(self, request):
        if request.method not in ("GET", "POST") or not PATH.match(request.path):
            return EmulatorResponse(404, "<html><body><h1>HTTP Status 404 - Not Found</h1></body></html>", "text/html")
        params = request.params
        if PATH.match(request.path).group(1) == "getSingleCallCra":
            return self._cra(params)
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
        if not self._authenticated(auth):
            if self.buffer_answers:
                return EmulatorResponse(200, "KO<authentication_failed:{null}>", "text/plain")
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
        if to in self.invalid_numbers:
            if self.buffer_answers:
                return EmulatorResponse(200, f"KO<invalid_number:{{{to}}}>", "text/plain")
            return _failure("INVALID_PARAMETERS", f"Numéro de téléphone invalide : {to}", invalidParams=True)
        with self._state_lock:
            if not self.take_credits(1):
                if self.buffer_answers:
                    return EmulatorResponse(200, "KO<credit_exhausted:{null}>", "text/plain")
                return _failure("ACCOUNT_ERROR", "Crédit SMS insuffisant")
            message_id = next(self._ids)
            self.messages[message_id] = message
            self.dates[message_id] = datetime.now()
        if self.buffer_answers:
            return EmulatorResponse(200, "OK", "text/plain")
        return EmulatorResponse(200, {"success": True, "response": message_id})

    def _authenticated(self, auth):
        return (auth.get("serviceId"), auth.get("servicePassword"), str(auth.get("spaceId"))) == (
            self.service_id,
            self.password,
            self.space_id,
        )

    def _cra(self, params):
        try:
            auth = json.loads(params["authenticate"])
            since = datetime.strptime(params["dSince"], "%Y-%m-%d %H:%M:%S")
            id_since = int(params.get("idSince") or 0)
        except (KeyError, ValueError, TypeError):
            return _failure("INVALID_PARAMETERS", "authenticate (JSON) et dSince attendus", invalidParams=True)
        if not isinstance(auth, dict) or not self._authenticated(auth):
            return _failure("AUTHENTICATION_FAILED", "Authentification échouée")
        with self._state_lock:
            rows = [
                (message_id, self.dates[message_id], message, self.cra_statuses.get(message_id))
                for message_id, message in sorted(self.messages.items())
                if message_id > id_since and self.dates[message_id] >= since
            ][: self.cra_page_size]
        lines = ["ID;Date;Media;To;Statut"]
        for message_id, date, message, status in rows:
            status = status or ("Non distribué" if message.get("to") == UNDELIVERED_NUMBER else "Distribué")
            lines.append(f"{message_id};{date:%Y-%m-%d %H:%M:%S};{message.get('media')};{message.get('to')};{status}")
        csv_text = "\r\n".join(lines) + "\r\n"
        if self.cra_json:
            return EmulatorResponse(200, {"success": True, "response": csv_text})
        return EmulatorResponse(200, csv_text, "text/csv; charset=utf-8")
