"""Security events are in the audit log with person, account, address and route: refused access (403, and
the 404 of another account's object — not a mistyped id), CSRF failures, refused uploads (kept although
the upload's work is undone), rate-limit hits, and locked addresses."""

from __future__ import annotations

import io

from sqlalchemy import select

from portal.extensions import db
from portal.models import Attachment, AuditEvent, ServiceRequest
from tests.conftest import sign_in
from tests.factories import make_account, make_request, make_user


def _events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_another_account_s_request_is_recorded_a_missing_one_is_not(client, login_as):
    other = make_request(make_user("customer", account=make_account()))
    me = login_as("customer")
    assert client.get(f"/my/requests/{other.id}").status_code == 404
    assert client.get("/my/requests/999999").status_code == 404
    (event,) = _events("security.object_refused")
    assert event.actor_id == me.id and event.ip_address == "127.0.0.1"
    assert event.detail["account_id"] == me.account_id
    assert event.detail["route"] == f"/my/requests/{other.id}" and event.detail["method"] == "GET"
    assert (event.detail["object_type"], event.detail["object_id"]) == ("ServiceRequest", other.id)


def test_a_403_and_a_csrf_failure_are_recorded(client, login_as):
    me = login_as("customer")
    assert client.get("/staff/").status_code == 403
    assert client.post("/profile", data={"full_name": "x"}).status_code == 400
    (forbidden,) = _events("security.forbidden")
    assert forbidden.actor_id == me.id and forbidden.detail["route"] == "/staff/"
    (csrf,) = _events("security.csrf_failed")
    assert csrf.actor_id == me.id and csrf.detail["route"] == "/profile" and csrf.detail["method"] == "POST"


def test_a_refused_upload_is_recorded_and_nothing_else_is_kept(client, login_as):
    me = login_as("customer")
    request = make_request(me)
    token = client.csrf_token(f"/my/requests/{request.id}")
    response = client.post(
        f"/my/requests/{request.id}/reply",
        content_type="multipart/form-data",
        data={
            "csrf_token": token,
            "body": "See the file.",
            "files": [(io.BytesIO(b"MZ\x90\x00"), "tool.exe")],
        },
    )
    assert response.status_code == 422
    (event,) = _events("security.upload_refused")
    assert event.detail["file"] == "tool.exe" and event.detail["reason"] == "kind"
    assert event.actor_id == me.id and event.detail["route"] == f"/my/requests/{request.id}/reply"
    assert db.session.scalar(select(Attachment)) is None
    assert db.session.get(ServiceRequest, request.id).version == request.version  # the reply was not kept


def test_an_over_size_upload_is_recorded(client, app, login_as):
    login_as("customer")
    client.post(
        "/my/new/onsite/installation",
        data=b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1),
        content_type="text/plain",
    )
    (event,) = _events("security.upload_refused")
    assert event.detail["reason"] == "too_large"


def test_rate_limit_hits_and_locked_addresses_are_recorded(client, app):
    app.config["LOGIN_RATE_LIMIT"] = "2 per minute"
    try:
        codes = [
            sign_in(client, "nobody@example.com", password="wrong password!").status_code for _ in range(3)
        ]
    finally:
        app.config["LOGIN_RATE_LIMIT"] = "10000 per minute"
    assert codes[-1] == 429
    (event,) = _events("security.rate_limited")
    assert event.ip_address == "127.0.0.1" and event.detail["route"] == "/login"
    user = make_user("customer", account=make_account())
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        sign_in(client, user.email, password="wrong password!")
    (locked,) = _events("auth.address_locked")
    assert locked.actor_id == user.id and locked.ip_address == "127.0.0.1" and locked.detail["until"]
