"""Everyone's profile: name, language, time zone, and a password change that ends the other sessions."""

from __future__ import annotations

from portal.extensions import db
from portal.models import User
from portal.services.identity.auth import password_matches
from tests.factories import PASSWORD


def test_saving_the_profile(client, login_as):
    user = login_as("customer")
    token = client.csrf_token("/profile")
    response = client.post(
        "/profile",
        data={"csrf_token": token, "full_name": "李雷", "language": "en", "timezone": "Europe/London"},
    )
    assert response.status_code == 303
    fresh = db.session.get(User, user.id)
    assert (fresh.full_name, fresh.locale, fresh.timezone) == ("李雷", "en", "Europe/London")
    assert "Profile" in client.get("/profile").get_data(as_text=True)
    bad = client.post(
        "/profile", data={"csrf_token": token, "full_name": "x", "language": "en", "timezone": "Mars/Olympus"}
    )
    assert bad.status_code == 422 and "Choose a time zone from the list." in bad.get_data(as_text=True)
    assert db.session.get(User, user.id).timezone == "Europe/London"


def test_changing_the_password_signs_out_the_other_browsers(client, app, login_as):
    user = login_as("agent", departments=["sales"])
    other = app.test_client()
    other.__class__ = type(client)
    from tests.conftest import sign_in

    sign_in(other, user.email)
    assert other.get("/staff/").status_code == 200
    token = client.csrf_token("/profile")
    wrong = client.post(
        "/profile/password",
        data={"csrf_token": token, "old_password": "nope", "new_password": "a brand new password"},
        headers={"Accept-Language": "en"},
    )
    assert wrong.status_code == 422 and "current password is not correct" in wrong.get_data(as_text=True)
    short = client.post(
        "/profile/password",
        data={"csrf_token": token, "old_password": PASSWORD, "new_password": "short"},
        headers={"Accept-Language": "en"},
    )
    assert short.status_code == 422 and "at least 10 characters" in short.get_data(as_text=True)
    ok = client.post(
        "/profile/password",
        data={"csrf_token": token, "old_password": PASSWORD, "new_password": "a brand new password"},
    )
    assert ok.status_code == 303
    assert password_matches(db.session.get(User, user.id).password_hash, "a brand new password")
    assert client.get("/staff/").status_code == 200  # this browser stays signed in
    assert other.get("/staff/").status_code == 302  # the other one is out


def test_the_profile_needs_a_sign_in(client):
    assert client.get("/profile").status_code == 302
