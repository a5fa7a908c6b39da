from . import test_sms_ledger, test_sms_credit_concurrency, test_sms_segments
from . import (
    test_provider_aspsms,
    test_provider_brevo,
    test_provider_clever,
    test_provider_contact_experience,
    test_provider_dispatch,
    test_provider_linkmobility,
    test_provider_sfr_dmc,
)
