"""``maintguard.django.context_processors.maintenance``: the status in every template.

The implementation lives in :mod:`maintguard.adapters.django_config`.
"""

from maintguard.adapters.django_config import maintenance as maintenance

__all__ = ["maintenance"]
