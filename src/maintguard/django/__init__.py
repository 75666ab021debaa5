"""The Django integration: ``MaintenanceMiddleware``, ``operation``, ``exempt``, ``staff_admin``.

Add ``"maintguard.django"`` to ``INSTALLED_APPS`` for ``python manage.py
maintguard …`` and the overridable ``maintguard/503.html`` template. The
implementation lives in :mod:`maintguard.adapters.django` and its sibling
modules; this is its public name.
"""

from maintguard.adapters.django import *  # noqa: F403
from maintguard.adapters.django import __all__ as __all__
