"""The account administrator's users screen and the one-time invitation link."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent, User
from portal.services.identity import account_users
from tests.conftest import sign_in
from tests.factories import make_user


def _invite(client, **data) -> tuple[int, str]:
    token = client.csrf_token("/my/users")
    response = client.post("/my/users", data={"csrf_token": token, **data}, headers={"Accept-Language": "en"})
    page = response.get_data(as_text=True)
    link = re.search(r"<code>([^<]+)</code>", page)
    return response.status_code, link.group(1) if link else ""


def test_an_administrator_invites_a_colleague_who_sets_a_password_once(client, app, login_as):
    admin = login_as("customer_admin")
    status, link = _invite(
        client, email="New.Colleague@Example.com", full_name="New Colleague", role="customer"
    )
    assert status == 200 and "/invitation/" in link
    invited = db.session.scalar(select(User).where(User.email == "new.colleague@example.com"))
    assert (invited.account_id, invited.role) == (admin.account_id, "customer")
    path = link[link.index("/invitation/") :]
    visitor = app.test_client()
    visitor.__class__ = type(client)
    form = visitor.get(path, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Welcome, New Colleague" in form
    token = visitor.csrf_token(path)
    short = visitor.post(path, data={"csrf_token": token, "password": "short"})
    assert short.status_code == 422
    assert visitor.post(path, data={"csrf_token": token, "password": "my own password 1"}).status_code == 303
    assert sign_in(visitor, invited.email, password="my own password 1").status_code == 303
    # The link works once.
    again = app.test_client().get(path, headers={"Accept-Language": "en"})
    assert again.status_code == 410 and "already been used" in again.get_data(as_text=True)


def test_tampered_and_expired_links_are_refused(client, app, monkeypatch):
    user = make_user("customer")
    with app.test_request_context():
        token = account_users.invitation_token(user)
    assert client.get(f"/invitation/{token}x").status_code == 410
    monkeypatch.setattr(account_users, "INVITATION_DAYS", -1)
    assert client.get(f"/invitation/{token}").status_code == 410


def test_bad_invitations_are_explained(client, login_as):
    login_as("customer_admin")
    make_user("agent", email="taken@example.com")
    status, _ = _invite(client, email="taken@example.com", full_name="X", role="customer")
    assert status == 422
    status, _ = _invite(client, email="not-an-email", full_name="X", role="customer")
    assert status == 422


def test_roles_and_deactivation_within_the_account_only(client, login_as):
    admin = login_as("customer_admin")
    colleague = make_user("customer", account=admin.account)
    stranger = make_user("customer")
    token = client.csrf_token("/my/users")
    client.post(f"/my/users/{colleague.id}/role", data={"csrf_token": token, "role": "customer_admin"})
    client.post(f"/my/users/{colleague.id}/active", data={"csrf_token": token})
    fresh = db.session.get(User, colleague.id)
    assert (fresh.role, fresh.active) == ("customer_admin", False)
    assert client.post(f"/my/users/{stranger.id}/active", data={"csrf_token": token}).status_code == 404
    assert (
        client.post(
            f"/my/users/{stranger.id}/role", data={"csrf_token": token, "role": "customer"}
        ).status_code
        == 404
    )
    client.post(f"/my/users/{admin.id}/role", data={"csrf_token": token, "role": "customer"})
    assert db.session.get(User, admin.id).role == "customer_admin"  # not oneself
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("user.%"))).all()
    assert "user.role_changed" in actions and "user.deactivated" in actions


@pytest.mark.parametrize("role", ["customer", "agent"])
def test_only_the_account_administrator_manages_users(client, login_as, role):
    login_as(role, departments=["sales"] if role == "agent" else None)
    assert client.get("/my/users").status_code == 403
