"""The account administrator's users screen and the one-time invitation link."""

from __future__ import annotations

import re
from email import message_from_bytes
from email.policy import default

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent, User
from tests.conftest import sign_in
from tests.factories import make_user


def _invite(client, **data):
    token = client.csrf_token("/my/users")
    return client.post(
        "/my/users",
        data={"csrf_token": token, **data},
        headers={"Accept-Language": "en"},
        follow_redirects=True,
    )


def _emailed_link(outbox, address: str) -> str:
    mails = [message_from_bytes(p.read_bytes(), policy=default) for p in sorted(outbox.glob("*.eml"))]
    bodies = [m.get_body(("plain",)).get_content() for m in mails if m["To"] == address]
    assert bodies, f"no email to {address}"
    return re.search(r"https?://\S+(/invitation/\S+)", bodies[-1]).group(1)


def test_an_administrator_invites_a_colleague_who_sets_a_password_once(client, app, login_as, outbox):
    admin = login_as("customer_admin")
    response = _invite(client, email="New.Colleague@Example.com", full_name="New Colleague", role="customer")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "An invitation is on its way to new.colleague@example.com" in page
    assert "/invitation/" not in page  # the link goes to the colleague only, never to the administrator
    invited = db.session.scalar(select(User).where(User.email == "new.colleague@example.com"))
    assert (invited.account_id, invited.role) == (admin.account_id, "customer")
    path = _emailed_link(outbox, invited.email)
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


def test_the_invitation_can_be_sent_again_until_the_colleague_signs_in(client, login_as, outbox):
    admin = login_as("customer_admin")
    _invite(client, email="late@example.com", full_name="Late Reader", role="customer")
    invited = db.session.scalar(select(User).where(User.email == "late@example.com"))
    page = client.get("/my/users", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Invited, not signed in yet" in page and f"/my/users/{invited.id}/invitation" in page
    token = client.csrf_token("/my/users")
    response = client.post(f"/my/users/{invited.id}/invitation", data={"csrf_token": token})
    assert response.status_code == 303
    assert len([p for p in outbox.glob("*.eml") if "late@example.com" in p.read_text(errors="ignore")]) == 2
    assert admin.id and db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "user.invitation_sent_again")
    )


def test_an_address_that_is_taken_gets_the_same_answer_and_nothing_happens(client, login_as, outbox):
    """Once, "a user with this email already exists" told an administrator who else used the portal."""
    login_as("customer_admin")
    make_user("agent", email="staff.member@example.com")
    other = make_user("customer", email="someone@example.com")  # of another account, same domain
    answers = []
    for address in ("staff.member@example.com", "someone@example.com", "fresh@example.com"):
        page = _invite(client, email=address, full_name="X", role="customer").get_data(as_text=True)
        answers.append(page.count(f"An invitation is on its way to {address}"))
    assert answers == [1, 1, 1]
    assert db.session.get(User, other.id).account_id == other.account_id  # untouched
    sent = " ".join(p.read_text(errors="ignore") for p in outbox.glob("*.eml"))
    assert "fresh@example.com" in sent and "staff.member@example.com" not in sent and "someone@" not in sent


def test_only_addresses_on_the_account_s_domains(client, login_as):
    login_as("customer_admin")
    response = _invite(client, email="friend@gmail.example", full_name="X", role="customer")
    page = response.get_data(as_text=True)
    assert (
        response.status_code == 422 and "Invite addresses on your company&#39;s domains: example.com" in page
    )
    assert db.session.scalar(select(User).where(User.email == "friend@gmail.example")) is None
    assert _invite(client, email="not-an-email", full_name="X", role="customer").status_code == 422


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
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.action.like("user.%")).order_by(AuditEvent.id)
    ).all()
    assert "user.role_changed" in actions and "user.deactivated" in actions


@pytest.mark.parametrize("role", ["customer", "agent"])
def test_only_the_account_administrator_manages_users(client, login_as, role):
    login_as(role, departments=["sales"] if role == "agent" else None)
    assert client.get("/my/users").status_code == 403
