"""Django settings of the load benchmark's Django app (``load_apps.django_app``).

A settings module, not ``settings.configure()``: django-maintenance-mode
imports ``DJANGO_SETTINGS_MODULE`` itself.
"""

from __future__ import annotations

import os

VARIANT = os.environ.get("BENCH_VARIANT", "maintguard")

DEBUG = False
SECRET_KEY = "benchmark-only-0123456789"  # noqa: S105 - no secret in a benchmark
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "benchmarks.load_apps"
MIDDLEWARE = {
    "none": [],
    "maintguard": ["maintguard.django.MaintenanceMiddleware"],
    "django-maintenance-mode": ["maintenance_mode.middleware.MaintenanceModeMiddleware"],
}[VARIANT]
INSTALLED_APPS = ["maintenance_mode"] if VARIANT == "django-maintenance-mode" else []
MAINTGUARD_SERVICE = "benchmarks.load_apps:SERVICE"
# django-maintenance-mode: on or off for the server's life, JSON answers (no
# template to render), so that both middlewares answer alike.
MAINTENANCE_MODE = os.environ.get("BENCH_MAINTENANCE") == "1"
MAINTENANCE_MODE_RESPONSE_TYPE = "json"
LOGGING_CONFIG = None
DATABASES: dict[str, object] = {}
USE_TZ = True
