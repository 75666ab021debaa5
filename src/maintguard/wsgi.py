"""WSGI middleware: ``MaintenanceMiddleware(app, service)``.

The implementation lives in :mod:`maintguard.adapters.wsgi`; this is its public name.
"""

from maintguard.adapters.wsgi import *  # noqa: F403
from maintguard.adapters.wsgi import __all__ as __all__
