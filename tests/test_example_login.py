"""Logins during maintenance, through the example Flask app's login view."""

from __future__ import annotations

import pytest
from examples.flask_app.app import create_app
from flask.testing import FlaskClient

from maintguard import MaintenanceService


@pytest.fixture
def client_and_service() -> tuple[FlaskClient, MaintenanceService]:
    service = MaintenanceService()
    return create_app(service).test_client(), service


def test_a_non_admin_cannot_log_in_during_maintenance(
    client_and_service: tuple[FlaskClient, MaintenanceService],
) -> None:
    """The login form stays reachable, but check_login refuses a non-admin."""
    client, service = client_and_service
    service.enable_maintenance("Upgrade")
    answer = client.post("/login", json={"username": "alice", "password": "alice-password"})
    assert (503, "logins are paused for maintenance") == (answer.status_code, answer.json["error"])


def test_an_admin_can_log_in_during_an_emergency(
    client_and_service: tuple[FlaskClient, MaintenanceService],
) -> None:
    """Admins sign in even while everything else is blocked."""
    client, service = client_and_service
    service.enable_emergency("Incident")
    answer = client.post("/login", json={"username": "admin", "password": "admin-password"})
    assert (200, "admin") == (answer.status_code, answer.json["user"])


def test_everyone_can_log_in_when_maintenance_is_off(
    client_and_service: tuple[FlaskClient, MaintenanceService],
) -> None:
    """Outside maintenance, check_login lets everyone through."""
    client, _ = client_and_service
    assert (
        200
        == client.post(
            "/login", json={"username": "alice", "password": "alice-password"}
        ).status_code
    )
