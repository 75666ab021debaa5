"""Public face of the Prometheus metrics (``pip install 'maintguard[metrics]'``)."""

from __future__ import annotations

from maintguard.control.console.metrics import *  # noqa: F403
from maintguard.control.console.metrics import __all__ as __all__
