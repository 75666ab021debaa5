"""Job terminators: count and stop background jobs in an emergency.

The implementation lives in :mod:`maintguard.effects.jobs`; this is its public name.
"""

from maintguard.effects.jobs import *  # noqa: F403
from maintguard.effects.jobs import __all__ as __all__
from maintguard.effects.jobs import __getattr__ as __getattr__  # the lazily built rq worker
