# One module per provider; each registers its connector (providers.base.PROVIDERS).
from . import (
    aspsms,
    base,
    brevo,
    clever,
    contact_experience,
    dispatch,
    generic_http,
    linkmobility,
    mobimel,
    orange,
    ovh,
    sandbox,
    sfr_dmc,
    twilio,
    vonage,
)
