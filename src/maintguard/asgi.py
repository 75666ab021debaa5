"""Pure ASGI middleware: ``MaintenanceMiddleware(app, service)``.

The implementation lives in :mod:`maintguard.adapters.asgi`; this is its public name.
"""

from maintguard.adapters.asgi import *  # noqa: F403
from maintguard.adapters.asgi import __all__ as __all__
