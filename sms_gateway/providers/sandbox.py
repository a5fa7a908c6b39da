"""Sandbox provider: no network, accepts every message and simulates the
documented failure paths for a few reserved test numbers, so the demo and the
tests can show every outcome without a real provider."""

import itertools
import threading
import uuid

from .base import InboundSms, SendResult, SmsProvider, _lt, inbound_number
from .failures import FAILURE_ACCOUNT, FAILURE_CREDIT, FAILURE_NUMBER, FAILURE_SERVER

# Reserved test numbers (E.164) and the answer the sandbox gives for them.
SANDBOX_TEST_NUMBERS = {
    "+33600000001": (FAILURE_NUMBER, _lt("Invalid number (sandbox test number)")),
    "+33600000002": (FAILURE_CREDIT, _lt("Provider account out of credit (sandbox test number)")),
    "+33600000003": (FAILURE_SERVER, _lt("Provider unreachable (sandbox test number)")),
    "+33600000004": (FAILURE_ACCOUNT, _lt("Account refused by the provider (sandbox test number)")),
}


class SandboxProvider(SmsProvider, code="sandbox", label="Sandbox (no real SMS)"):
    batch_size = 1000
    has_balance = True
    has_inbound = True  # replies can be tried by hand: ``from``, ``text`` (and ``id``) posted to its inbound URL

    _counter = itertools.count(1)
    _counter_lock = threading.Lock()
    # Everything "sent" by the sandbox in this process, for tests and the demo.
    outbox = []

    def send(self, messages):
        results = []
        for message in messages:
            failure = SANDBOX_TEST_NUMBERS.get(message.number)
            if failure:
                results.append(SendResult(message.ref, failure_type=failure[0], error_message=str(failure[1])))
                continue
            with self._counter_lock:
                provider_id = f"sandbox-{next(self._counter)}-{uuid.uuid4().hex[:8]}"
            self.outbox.append((provider_id, message))
            results.append(SendResult(message.ref, provider_id=provider_id))
        return results

    def get_balance(self):
        return float(self.config.get("sandbox_balance") or 1000000)

    def test_connection(self):
        return str(_lt("Sandbox account: connection OK (no SMS leaves Odoo)."))

    def parse_inbound(self, payload, headers=None):
        payload = payload if isinstance(payload, dict) else {}
        number = inbound_number(payload.get("from"))
        if not number or "text" not in payload:
            raise ValueError("Sandbox inbound SMS: from or text missing")
        return [InboundSms(number, str(payload.get("text") or ""), str(payload.get("id") or "") or None)]
