"""ASPSMS JSON API emulator (json.aspsms.com).

Documented behaviour: POST JSON to ``/SendSimpleTextSMS``, ``/SendTextSMS``,
``/CheckCredits`` and ``/InquireDeliveryNotifications``; credentials in the
body (``UserName`` = UserKey, ``Password``); answers HTTP 200 JSON with
``StatusCode`` "1" (OK), "3" (authorization failed), "5" (not enough
credits), "10" (originator too long), "30" (originator not authorised).

Test inputs:

* a wrong ``UserName``/``Password`` -> StatusCode 3;
* ``credits`` (None = unlimited) is charged one credit per recipient and
  segment; a call that needs more than is left -> StatusCode 5;
* a recipient number not in international format (``+`` or ``00`` and 7 to 15
  digits) or in ``invalid_numbers`` -> the whole call is refused, nothing sent:
  StatusCode "0" (the emulator's own code: ASPSMS publishes none for this) with
  StatusInfo "Invalid recipient: <number>";
* an ``Originator`` longer than 11 characters (not a phone number) -> 10;
  one outside ``authorised_originators`` (when set) -> 30;
* recipients in ``UNDELIVERABLE_NUMBERS`` get DeliveryStatus "2", those in
  ``REJECTED_NUMBERS`` "-1" with a reason code, the others "0" (delivered);
* a TransactionReferenceNumber the emulator never took (not sent, or sent in
  a call that failed) is left out of ``DeliveryNotifications`` (StatusCode
  "1"): the answer the connector reads as "ASPSMS never got that message".
"""

import re

from .base import EmulatorResponse, ProviderEmulator, segments

UNDELIVERABLE_NUMBERS = {"+41780000002"}
REJECTED_NUMBERS = {"+41780000009"}
INVALID_NUMBERS = {"+41770000666"}

SEND_FIELDS = {"UserName", "Password", "Originator", "Recipients", "MessageText", "ForceGSM7bit"}
SEND_TEXT_FIELDS = SEND_FIELDS | {
    "DeferredDeliveryTime",
    "FlashingSMS",
    "URLDeliveryNotification",
    "URLNonDeliveryNotification",
    "URLBufferedMessageNotification",
    "AffiliateID",
}
AUTH_FIELDS = {"UserName", "Password"}


def _status(code, info, **extra):
    return EmulatorResponse(200, {"StatusCode": code, "StatusInfo": info, **extra})


class AspsmsEmulator(ProviderEmulator):
    def __init__(self, userkey="ASPSMSUSERKEY", password="secret", credits=None, latency=0.0):
        super().__init__(latency=latency, credits=credits)
        self.userkey = userkey
        self.password = password

    def reset_state(self):
        super().reset_state()
        # messages: TransactionReferenceNumber -> dict(number, text, originator, gsm7, segments)
        self.authorised_originators = None  # None = any originator is authorised
        self.calls = 0  # accepted send calls
        self.invalid_numbers = set(INVALID_NUMBERS)  # recipients ASPSMS refuses
        self.taken_numbers = []  # every recipient number of every accepted call, repeats included

    def handle(self, request):
        if request.method != "POST":
            return EmulatorResponse(405, "Method Not Allowed")
        data = request.json
        if not isinstance(data, dict):
            return EmulatorResponse(400, {"Message": "The request is invalid: JSON body expected."})
        endpoint = request.path.rstrip("/").rsplit("/", 1)[-1]
        allowed = {
            "SendSimpleTextSMS": SEND_FIELDS,
            "SendTextSMS": SEND_TEXT_FIELDS,
            "CheckCredits": AUTH_FIELDS,
            "InquireDeliveryNotifications": AUTH_FIELDS | {"TransactionReferenceNumbers"},
        }.get(endpoint)
        if allowed is None:
            return EmulatorResponse(404, "<html><body>404 Not Found</body></html>", "text/html")
        unknown = set(data) - allowed
        if unknown:
            return EmulatorResponse(400, {"Message": f"Unknown fields: {sorted(unknown)}"})
        if data.get("UserName") != self.userkey or data.get("Password") != self.password:
            return _status("3", "Authorization failed.")
        if endpoint == "CheckCredits":
            with self._state_lock:
                credits = self.credits
            return _status("1", "OK", Credits="999999" if credits is None else f"{credits:g}")
        if endpoint == "InquireDeliveryNotifications":
            return self._inquire(data)
        return self._send(data)

    def _send(self, data):
        recipients, text = data.get("Recipients"), data.get("MessageText")
        if not isinstance(recipients, list) or not recipients or not isinstance(text, str) or not text:
            return _status("0", "Missing Recipients or MessageText.")
        if not isinstance(data.get("ForceGSM7bit", False), bool):
            return _status("0", "ForceGSM7bit must be a boolean.")
        originator = data.get("Originator") or ""
        if originator and len(originator) > 11 and not re.fullmatch(r"\+?\d{1,15}", originator):
            return _status("10", "Originator too long.")
        if originator and self.authorised_originators is not None and originator not in self.authorised_originators:
            return _status("30", "Originator not authorised.")
        for recipient in recipients:
            number = str(recipient).partition(":")[0]
            if not re.fullmatch(r"(\+|00)\d{7,15}", number) or number in self.invalid_numbers:
                return _status("0", f"Invalid recipient: {number}")
        gsm7 = data.get("ForceGSM7bit", False)
        unicode = not gsm7 and any(ord(c) > 0x7F and c not in "éèàùìòÉÄÖÑÜäöñüçØøÅåÆæß£¥§¿¡" for c in text)
        parts = segments(text, unicode)
        with self._state_lock:
            if not self.take_credits(parts * len(recipients)):
                return _status("5", "Not enough credits.")
            self.calls += 1
            for recipient in recipients:
                number, _sep, ref = str(recipient).partition(":")
                self.taken_numbers.append(number)
                self.messages[ref or number] = {
                    "number": number,
                    "text": text,
                    "originator": originator,
                    "gsm7": gsm7,
                    "segments": parts,
                }
        return _status("1", "OK")

    def _inquire(self, data):
        refs = [r for r in str(data.get("TransactionReferenceNumbers") or "").split(";") if r]
        notifications = []
        with self._state_lock:
            known = {ref: self.messages.get(ref) for ref in refs}
        for ref, message in known.items():
            if message is None:  # unknown reference: no notification at all
                continue
            if message["number"] in UNDELIVERABLE_NUMBERS:
                status, description, reason, reason_text = "2", "Not Delivered", "107", "Absent subscriber"
            elif message["number"] in REJECTED_NUMBERS:
                status, description, reason, reason_text = "-1", "Not yet submitted or rejected", "212", "Rejected"
            else:
                status, description, reason, reason_text = "0", "Delivered", "000", ""
            notifications.append(
                {
                    "TransactionReferenceNumber": ref,
                    "DeliveryStatus": status,
                    "DeliveryStatusDescription": description,
                    "SubmissionDate": "23.11.2026 10:00:00",
                    "NotificationDate": "23.11.2026 10:00:05",
                    "Reasoncode": reason if status != "0" else "",
                    "ReasoncodeDescription": reason_text,
                }
            )
        return _status("1", "OK", DeliveryNotifications=notifications)
