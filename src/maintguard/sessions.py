"""Session invalidators: end non-admin sessions when maintenance starts.

The implementation lives in :mod:`maintguard.effects.sessions`; this is its public name.
"""

from maintguard.effects.sessions import *  # noqa: F403
from maintguard.effects.sessions import __all__ as __all__
