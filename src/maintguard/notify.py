"""Notifiers: webhook and e-mail messages on maintenance changes.

The implementation lives in :mod:`maintguard.effects.notify`; this is its public name.
"""

from maintguard.effects.notify import *  # noqa: F403
from maintguard.effects.notify import __all__ as __all__
