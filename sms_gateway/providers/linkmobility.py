"""Link Mobility (formerly Netsize) IPX REST connector.

``POST /restapi/v1/sms/send`` form-encoded (UTF-8) with HTTP Basic auth, one
destination per call. HTTP 200 answers carry a ``responseCode`` (0 = success,
with one id per segment in ``messageIds``). No balance nor delivery report
API is published for this REST API.
"""

import re

from .base import SendResult, SmsProvider, _lt, required
from .failures import FAILURE_ACCOUNT, FAILURE_CREDIT, FAILURE_NUMBER, FAILURE_SERVER, FAILURE_UNKNOWN

# responseCode -> failure type (anything else: transient server error).
LINKMOBILITY_ERRORS = {
    "15": FAILURE_UNKNOWN,  # concatenation limit exceeded: permanent, not a server error
    "16": FAILURE_SERVER,  # unable to route: transient
    "18": FAILURE_CREDIT,  # too low balance
    "100": FAILURE_NUMBER,  # invalid destination address
    "103": FAILURE_ACCOUNT,  # invalid account name
    "117": FAILURE_ACCOUNT,  # invalid campaign name: account configuration
}

TON_ALPHANUMERIC, TON_SHORTCODE, TON_MSISDN = "1", "2", "3"


class LinkMobilityProvider(SmsProvider, code="linkmobility", label="Link Mobility (Netsize IPX REST)"):
    default_base_url = "https://europe.ipx.com/restapi/v1"
    credential_labels = {
        "username": required("Username"),
        "password": required("Password"),
        "sender": "Originating address",
    }

    @staticmethod
    def originator_ton(sender):
        """The ``originatorTON`` that fits ``sender``."""
        digits = sender.lstrip("+")
        if digits.isdigit():
            return TON_SHORTCODE if len(digits) <= 6 else TON_MSISDN
        return TON_ALPHANUMERIC

    def send_one(self, message):
        form = {
            "destinationAddress": message.number,
            "messageText": message.body,
            "maxConcatenatedMessages": str(self.config.get("max_concatenated") or 10),
        }
        sender = (self.config.get("sender") or "").strip()
        if sender:
            form["originatingAddress"] = sender
            form["originatorTON"] = self.originator_ton(sender)
        if self.config.get("campaign_name"):
            form["campaignName"] = self.config["campaign_name"]
        response, error = self._request(
            "POST",
            self._url("sms/send"),
            data=form,  # requests encodes the values as UTF-8
            # as UTF-8 bytes: requests would encode str credentials as Latin-1
            auth=((self.config.get("username") or "").encode(), (self.config.get("password") or "").encode()),
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8", "Accept": "application/json"},
        )
        if error:
            return self.failed(message, error)
        if response.status_code in (401, 403):
            refused = _lt("Credentials refused by the provider (HTTP %(status)s)", status=response.status_code)
            return self.failed(message, str(refused), FAILURE_ACCOUNT)
        if response.status_code != 200:
            return self.failed(message, self._http_error(response))
        data = self._json(response)
        if not isinstance(data, dict) or "responseCode" not in data:
            return self.failed(message, self._unexpected(response))
        code = str(data.get("responseCode")).strip()
        if code == "0":
            ids = data.get("messageIds")
            if not isinstance(ids, list) or not ids or not all(isinstance(i, (str, int)) and str(i) for i in ids):
                return self.failed(message, self._unexpected(response))
            return SendResult(message.ref, provider_id=",".join(str(i).strip() for i in ids))
        words = re.sub(r"\s+", " ", str(data.get("responseMessage") or "")).strip()
        error_message = f"{words} (responseCode {code})" if words else f"responseCode {code}"
        return self.failed(message, error_message, LINKMOBILITY_ERRORS.get(code, FAILURE_SERVER))
