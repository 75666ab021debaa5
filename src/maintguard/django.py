"""The Django integration: ``MaintenanceMiddleware`` and ``staff_admin``.

The implementation lives in :mod:`maintguard.adapters.django`; this is its public name.
"""

from maintguard.adapters.django import *  # noqa: F403
from maintguard.adapters.django import __all__ as __all__
