from __future__ import annotations

from django.urls import path

from examples.django_app import views

urlpatterns = [
    path("", views.home),
    path("whoami", views.whoami),
    path("reports", views.reports),
    path("login", views.login_view),
    path("logout", views.logout_view),
    path("upload", views.upload),
    path("reports/<int:report_id>/export", views.export),
    path("hooks/payment", views.payment_hook),
]
