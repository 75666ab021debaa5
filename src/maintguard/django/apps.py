"""The Django app of ``maintguard.django``: its management command and templates."""

from __future__ import annotations

from django.apps import AppConfig  # type: ignore[import-untyped, import-not-found, unused-ignore]


class MaintguardConfig(AppConfig):  # type: ignore[misc, unused-ignore]
    name = "maintguard.django"
    label = "maintguard"
    verbose_name = "maintguard"
