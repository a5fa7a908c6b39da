# One module per provider; each registers its connector (providers.base.PROVIDERS).
from . import base, dispatch, sandbox
from . import aspsms, brevo, clever, contact_experience, linkmobility, sfr_dmc
