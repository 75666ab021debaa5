"""A small Django project protected by maintguard (``examples.django_app``).

Run it under a real server, several workers agreeing through one SQLite file::

    python -m django migrate --settings examples.django_app.settings
    gunicorn -w 2 examples.django_app.wsgi

Staff users and superusers are maintguard admins; maintenance is switched
with ``python examples/django_app/manage.py maintguard enable --reason …``.
"""

from __future__ import annotations

import os
from pathlib import Path

from examples.demo_state import STATE_DIR, admin_token, secret_key

STATE_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = False
SECRET_KEY = secret_key()
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
ROOT_URLCONF = "examples.django_app.urls"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "maintguard.django",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "maintguard.django.MaintenanceMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [str(Path(__file__).resolve().parent / "templates")],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["maintguard.django.context_processors.maintenance"]},
    }
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(STATE_DIR / "django.sqlite3"),
    }
}
SESSION_ENGINE = os.environ.get("DEMO_SESSION_ENGINE", "django.contrib.sessions.backends.db")
# A cache every worker process shares (for DEMO_SESSION_ENGINE=…backends.cache).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(STATE_DIR / "cache"),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True
STATIC_URL = "/assets/"
MEDIA_URL = "/media/"

MAINTGUARD = {
    "store_url": os.environ.get("MAINTENANCE_STORE_URL") or f"sqlite:///{STATE_DIR / 'state.db'}",
    "admin_tokens": os.environ.get("MAINTENANCE_ADMIN_TOKENS") or f"demo:{admin_token()}",
}
