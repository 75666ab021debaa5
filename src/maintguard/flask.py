"""The Flask integration: ``init_app``, ``@operation``, ``session_admin``.

The implementation lives in :mod:`maintguard.adapters.flask`; this is its public name.
"""

from maintguard.adapters.flask import *  # noqa: F403
from maintguard.adapters.flask import __all__ as __all__
