"""Failure types of a send, shared with Odoo's ``sms.sms.failure_type`` (also importable from ``base``)."""

FAILURE_CREDIT = "sms_credit"  # the provider account has no credit left
FAILURE_NUMBER = "sms_number_format"  # the provider refused the number
FAILURE_ACCOUNT = "sms_acc"  # credentials / account refused
FAILURE_SERVER = "sms_server"  # transient: timeouts, 5xx, 429, unknown answers
FAILURE_UNKNOWN = "unknown"

TRANSIENT_FAILURES = {FAILURE_SERVER}
