"""The demo project's views: the seeds' routes, a login, and declared views."""

from __future__ import annotations

import json

from django.contrib.auth import authenticate, login, logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from maintguard.django import exempt, operation, project_service


def home(request: HttpRequest) -> HttpResponse:
    name = request.user.get_username() if request.user.is_authenticated else "guest"
    return HttpResponse(f"<h1>Vedfolnir demo</h1><p>Hello, {name}.</p>")


def reports(request: HttpRequest) -> HttpResponse:
    """A page with the maintenance banner (the context processor's ``maintenance``)."""
    return render(request, "banner.html")


def whoami(request: HttpRequest) -> JsonResponse:
    user = request.user.get_username() if request.user.is_authenticated else None
    return JsonResponse({"user": user})


@csrf_exempt  # a JSON API for the demo's curl lines; a real form keeps CSRF
def login_view(request: HttpRequest) -> JsonResponse:
    if request.method != "POST":
        return JsonResponse({"error": "POST a JSON body {username, password}"}, status=405)
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    user = authenticate(
        request, username=str(body.get("username", "")), password=str(body.get("password", ""))
    )
    if user is None:
        return JsonResponse({"error": "unknown user or wrong password"}, status=401)
    # The project decides who is an admin; maintguard decides whether they may log in now.
    if not project_service().check_login(is_admin=user.is_staff or user.is_superuser):
        return JsonResponse({"error": "logins are paused for maintenance"}, status=503)
    login(request, user)
    return JsonResponse({"user": user.get_username()})


@csrf_exempt
def logout_view(request: HttpRequest) -> JsonResponse:
    logout(request)
    return JsonResponse({"ok": True})


@csrf_exempt
def upload(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"uploaded": True}, status=201)


@operation("JOB_CREATION")  # a GET that starts a job: blocked like a write
def export(request: HttpRequest, report_id: int) -> JsonResponse:
    return JsonResponse({"export": report_id}, status=202)


@exempt  # the payment provider's callback is never refused
@csrf_exempt
def payment_hook(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"received": True})
