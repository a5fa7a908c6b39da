from . import controllers, models, providers, tools, wizards
