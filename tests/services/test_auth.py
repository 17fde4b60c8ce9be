"""Sign-in rules: hashing, lockout that reveals nothing, sessions that die on sign-out and deactivation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent, LoginSession
from portal.services.errors import InvalidInput, SignInRefused
from portal.services.identity import auth
from tests.factories import PASSWORD, make_account, make_user

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


def _actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_passwords_are_hashed_with_argon2id():
    hashed = auth.hash_password("a long enough password")
    assert hashed.startswith("$argon2id$")
    assert auth.password_matches(hashed, "a long enough password")
    assert not auth.password_matches(hashed, "another password")
    assert not auth.password_matches("not a hash", "x")


def test_sign_in_opens_a_session_and_is_audited():
    user = make_user("agent", email="agent@example.com")
    signed_in, session = auth.sign_in(" Agent@Example.com ", PASSWORD, ip_address="10.1.2.3", now=NOW)
    assert signed_in.id == user.id
    assert auth.load_signed_in_user(session.id, str(user.id), now=NOW) == user
    assert _actions() == ["auth.sign_in"]
    assert db.session.scalar(select(AuditEvent.ip_address)) == "10.1.2.3"


@pytest.mark.parametrize("email", ["agent@example.com", "nobody@example.com"])
def test_a_wrong_password_and_an_unknown_email_fail_alike(email):
    make_user("agent", email="agent@example.com")
    with pytest.raises(SignInRefused) as refused:
        auth.sign_in(email, "wrong password", now=NOW)
    assert refused.value.locked is False
    event = db.session.scalar(select(AuditEvent))
    assert (event.action, event.actor_email, event.detail["reason"]) == (
        "auth.sign_in_failed",
        email,
        "bad_credentials",
    )


@pytest.mark.parametrize("email", ["agent@example.com", "nobody@example.com"])
def test_five_failures_lock_the_address_whether_or_not_it_exists(email):
    make_user("agent", email="agent@example.com")
    for attempt in range(5):
        with pytest.raises(SignInRefused) as refused:
            auth.sign_in(email, "wrong password", now=NOW + timedelta(seconds=attempt))
    assert refused.value.locked is True
    # Even the right password is refused while locked...
    with pytest.raises(SignInRefused) as refused:
        auth.sign_in(email, PASSWORD, now=NOW + timedelta(minutes=5))
    assert refused.value.locked is True
    # ...and accepted once the lock has run out (for the address that exists).
    if email == "agent@example.com":
        user, _ = auth.sign_in(email, PASSWORD, now=NOW + timedelta(minutes=16))
        assert user.email == email


def test_failures_spread_beyond_the_window_do_not_lock():
    make_user("agent", email="agent@example.com")
    for attempt in range(8):
        with pytest.raises(SignInRefused) as refused:
            auth.sign_in("agent@example.com", "wrong", now=NOW + timedelta(minutes=20 * attempt))
        assert refused.value.locked is False


def test_success_clears_earlier_failures():
    make_user("agent", email="agent@example.com")
    for _ in range(4):
        with pytest.raises(SignInRefused):
            auth.sign_in("agent@example.com", "wrong", now=NOW)
    auth.sign_in("agent@example.com", PASSWORD, now=NOW)
    for _ in range(4):
        with pytest.raises(SignInRefused) as refused:
            auth.sign_in("agent@example.com", "wrong", now=NOW)
    assert refused.value.locked is False


def _through_the_orm(session_id, user_id, now=None):  # noqa: ANN001, ANN202
    user = auth.load_signed_in_user(session_id, user_id, now=now)
    return user.id if user is not None else None


def _as_plain_values(session_id, user_id, now=None):  # noqa: ANN001, ANN202
    who = auth.read_signed_in(session_id, user_id, now=now)
    return who.user_id if who is not None else None


# Both readers of a session cookie (the ORM user for a page rendered, the plain values the page cache looks
# a kept page up with) keep the same rule: each test below runs against both.
READERS = pytest.mark.parametrize("loads", [_through_the_orm, _as_plain_values], ids=["orm", "plain"])


@READERS
def test_a_deactivated_user_cannot_sign_in_and_their_sessions_stop_loading(loads):
    user = make_user("agent", email="agent@example.com")
    _, session = auth.sign_in("agent@example.com", PASSWORD, now=NOW)
    assert loads(session.id, str(user.id), now=NOW) == user.id
    auth.set_active(user, False)
    assert loads(session.id, str(user.id), now=NOW) is None
    with pytest.raises(SignInRefused):
        auth.sign_in("agent@example.com", PASSWORD, now=NOW)
    assert _actions()[-1] == "auth.sign_in_failed"


@READERS
def test_a_switched_off_account_stops_its_peoples_sessions(loads):
    account = make_account()
    user = make_user("customer", account=account, email="buyer@example.com")
    _, session = auth.sign_in("buyer@example.com", PASSWORD, now=NOW)
    assert loads(session.id, str(user.id), now=NOW) == user.id
    account.active = False
    db.session.commit()
    assert loads(session.id, str(user.id), now=NOW) is None


@READERS
def test_sign_out_revokes_the_session(loads):
    user = make_user("agent", email="agent@example.com")
    _, session = auth.sign_in("agent@example.com", PASSWORD, now=NOW)
    auth.sign_out(session.id, user=user)
    assert db.session.get(LoginSession, session.id).revoked_at is not None
    assert loads(session.id, str(user.id)) is None


@READERS
def test_a_sign_in_lasts_its_lifetime_from_signing_in_however_active(app, loads):
    user = make_user("agent", email="agent@example.com")
    _, session = auth.sign_in("agent@example.com", PASSWORD, now=NOW)
    lifetime = app.config["PERMANENT_SESSION_LIFETIME"]
    for hours in range(1, int(lifetime.total_seconds() // 3600)):  # busy all day: seen every hour
        assert loads(session.id, str(user.id), now=NOW + timedelta(hours=hours)) == user.id
    later = NOW + lifetime + timedelta(minutes=1)
    assert loads(session.id, str(user.id), now=later) is None


@READERS
def test_a_session_id_only_loads_its_own_user(loads):
    user = make_user("agent", email="agent@example.com")
    other = make_user("agent")
    _, session = auth.sign_in("agent@example.com", PASSWORD, now=NOW)
    assert loads(session.id, str(other.id)) is None
    assert loads(None, str(user.id)) is None
    assert loads(session.id, "not-a-number") is None
    assert loads(session.id, None) is None


def test_the_plain_values_are_the_users_own():
    account = make_account(preferred_language="en")
    user = make_user(
        "customer", account=account, email="buyer@example.com", locale="zh", timezone="Europe/Paris"
    )
    _, session = auth.sign_in("buyer@example.com", PASSWORD, now=NOW)
    who = auth.read_signed_in(session.id, str(user.id), now=NOW)
    assert who == auth.SignedIn(user.id, "customer", "zh", "Europe/Paris", "en")
    assert auth.user_of(who) == user


def test_create_user_checks_role_account_password_and_duplicates():
    account = make_account()
    user = auth.create_user(
        email="New@Example.com", password="long enough pw", full_name="New", role="customer", account=account
    )
    db.session.commit()
    assert user.email == "new@example.com"
    cases = [
        dict(email="a@example.com", password="long enough pw", full_name="A", role="customer"),
        dict(email="b@example.com", password="long enough pw", full_name="B", role="agent", account=account),
        dict(email="c@example.com", password="short", full_name="C", role="agent"),
        dict(email="new@example.com", password="long enough pw", full_name="D", role="agent"),
        dict(email="e@example.com", password="long enough pw", full_name="E", role="root"),
    ]
    for case in cases:
        with pytest.raises(InvalidInput):
            auth.create_user(**case)
        db.session.rollback()


def test_last_seen_is_kept_coarsely():
    user = make_user("agent", email="agent@example.com")
    _, session = auth.sign_in("agent@example.com", PASSWORD, now=NOW)
    auth.load_signed_in_user(session.id, str(user.id), now=NOW + timedelta(minutes=2))
    assert db.session.get(LoginSession, session.id).last_seen_at == NOW
    auth.load_signed_in_user(session.id, str(user.id), now=NOW + timedelta(minutes=7))
    assert db.session.get(LoginSession, session.id).last_seen_at == NOW + timedelta(minutes=7)
