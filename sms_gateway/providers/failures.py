"""Failure types of a send, shared with Odoo's ``sms.sms.failure_type`` (also importable from ``base``)."""

FAILURE_CREDIT = "sms_credit"  # the provider account has no credit left
FAILURE_NUMBER = "sms_number_format"  # the provider refused the number
FAILURE_ACCOUNT = "sms_acc"  # credentials / account refused
FAILURE_SERVER = "sms_server"  # transient: timeouts, 5xx, 429, unknown answers
FAILURE_UNCERTAIN = "sms_uncertain"  # the request may have reached the provider: never resent without asking it
FAILURE_UNKNOWN = "unknown"

# Failures known not to have reached the provider (or refused by it): safe to retry, and to hand to another account.
TRANSIENT_FAILURES = {FAILURE_SERVER}
