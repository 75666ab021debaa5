"""The Starlette and FastAPI integration: ``install``, ``@operation``.

The implementation lives in :mod:`maintguard.adapters.starlette`; this is its public name.
"""

from maintguard.adapters.starlette import *  # noqa: F403
from maintguard.adapters.starlette import __all__ as __all__
