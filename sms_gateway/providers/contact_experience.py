"""Contact Experience (Gen-IP) connector.

``GET .../SMS/sendSms.php?number=…&msg=…&devCode=…&emetteur=…``: the key
(``devCode``) travels in the query, ``emetteur`` is the e-mail address that
receives the replies (not a sender name). Success
``{"size":…, "list":[{"id":…}], "httpStatusCode":201}``; errors
``{"status":"KO","message":"BAD DEV CODE "}`` (note the trailing spaces).
"""

import re

from .base import SendResult, SmsProvider, required
from .failures import FAILURE_ACCOUNT, FAILURE_NUMBER, FAILURE_SERVER

# Normalised KO message -> failure type (anything else: transient server error).
CONTACT_EXPERIENCE_ERRORS = {
    "BAD DEV CODE": FAILURE_ACCOUNT,
    "INVALID NUMBER": FAILURE_NUMBER,
}


class ContactExperienceProvider(SmsProvider, code="contact_experience", label="Contact Experience (Gen-IP)"):
    default_base_url = "https://contact-experience.com/ccv/webServicesCCV/SMS"
    credential_labels = {"api_key": required("devCode"), "sender": required("emetteur (reply e-mail address)")}

    def send_one(self, message):
        params = {
            "number": message.number,
            "msg": message.body,
            "devCode": self.config.get("api_key") or "",
            "emetteur": self.config.get("sender") or "",
        }
        response, error = self._request("GET", self._url("sendSms.php"), params=params)
        if error:
            return self.failed(message, error)
        data = self._json(response)
        if isinstance(data, dict) and str(data.get("status") or "").strip().upper() == "KO":
            words = " ".join(str(data.get("message") or "").split())
            failure_type = CONTACT_EXPERIENCE_ERRORS.get(words.upper(), FAILURE_SERVER)
            return self.failed(message, words or self._unexpected(response), failure_type)
        if response.status_code not in (200, 201):
            return self.failed(message, self._http_error(response))
        provider_id = self._first_id(data)
        if not provider_id:
            embedded = data.get("httpStatusCode") if isinstance(data, dict) else None
            # an error status inside the answer is a refusal; anything else unreadable may be a success
            refused = isinstance(embedded, int) and embedded >= 400
            return self.failed(message, self._unexpected(response), FAILURE_SERVER if refused else None)
        return SendResult(message.ref, provider_id=provider_id)

    @staticmethod
    def _first_id(data):
        """``list[0].id`` of a success answer, or None."""
        if not isinstance(data, dict) or str(data.get("status") or "").strip().upper() == "KO":
            return None
        status = data.get("httpStatusCode")
        if status is not None and not re.fullmatch(r"2\d\d", str(status).strip()):
            return None
        items = data.get("list")
        if not isinstance(items, list) or not items or not isinstance(items[0], dict):
            return None
        provider_id = items[0].get("id")
        if provider_id in (None, "") or isinstance(provider_id, (dict, list, bool)):
            return None
        return str(provider_id).strip() or None
