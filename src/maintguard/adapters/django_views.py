"""What Django templates see of maintenance: the 503 page (and, in
``django_config``, the context processor).

The 503 page is rendered from the template ``maintguard/503.html`` (the
app's own, shipped with ``maintguard.django``; a project overrides it by
putting a template of that name earlier on its template path). It receives
``title``, ``message``, ``mode``, ``operation``, ``eta`` and
``estimated_completion``, escaped by Django's autoescaping.

``maintguard.django.context_processors.maintenance`` puts ``maintenance``
(the ``MaintenanceStatus``, from the snapshot: no I/O) into every template's
context, for a banner such as ``{% if maintenance.is_active %}…{% endif %}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["TEMPLATE", "template_page"]

TEMPLATE = "maintguard/503.html"


def template_page(values: Mapping[str, Any]) -> str:
    """A ``page`` renderer for ``MaintenanceService``: ``maintguard/503.html``."""
    from django.template.loader import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
        render_to_string,
    )

    return str(render_to_string(TEMPLATE, dict(values)))
