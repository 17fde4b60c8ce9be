"""Sign-in, sessions and user accounts.

A signed-in browser holds a random session id that names a ``LoginSession`` row. Signing out revokes the
row, so a copied cookie stops working; a deactivated user's rows stop loading at their next request.
Failed sign-ins are counted per email address (known or not) and lock that address for a while.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import contains_eager, joinedload

from portal import changes
from portal.extensions import db
from portal.models import Account, Department, LoginSession, SignInThrottle, User
from portal.models.accounts import CUSTOMER_ROLES, ROLES
from portal.models.base import utcnow
from portal.services import audit, background
from portal.services.errors import InvalidInput, SignInRefused
from portal.services.identity import passwords
from portal.services.unit_of_work import use_case

# Argon2id with a profile of argon2.profiles, named by PASSWORD_HASHING: RFC 9106's low-memory one by default
# (about 0.2 s a check on this machine, which is the point); the test suite's thousand sign-ins use CHEAPEST.
_hashers: dict[str, tuple[PasswordHasher, str]] = {}


def _hashing() -> tuple[PasswordHasher, str]:
    """The app's hasher, and a hash of its parameters that no user has: verifying against it when nobody
    has the address keeps both paths equally slow."""
    name = current_app.config["PASSWORD_HASHING"] if has_app_context() else "RFC_9106_LOW_MEMORY"
    if name not in _hashers:
        hasher = PasswordHasher.from_parameters(getattr(profiles, name))
        _hashers[name] = (hasher, hasher.hash("no user has this password"))
    return _hashers[name]


MIN_PASSWORD_LENGTH = passwords.MIN_LENGTH
LAST_SEEN_GRANULARITY = timedelta(minutes=5)


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)


def hash_password(password: str) -> str:
    return _hashing()[0].hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hashing()[0].verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _throttle_for(email: str, now: datetime) -> SignInThrottle:
    throttle = db.session.get(SignInThrottle, email)
    if throttle is None:
        throttle = SignInThrottle(email=email, failures=0, window_started_at=now)
        db.session.add(throttle)
    return throttle


def sign_in(
    email: str,
    password: str,
    *,
    ip_address: str = "",
    user_agent: str = "",
    policy: ThrottlePolicy | None = None,
    now: datetime | None = None,
) -> tuple[User, LoginSession]:
    """Check the credentials and open a session, or raise ``SignInRefused``; failures are counted and
    audited either way. The password is verified (slowly, on purpose) before the short transaction that
    records the outcome, so no lock is held while Argon2 works."""
    email = normalise_email(email)[:254]
    user = db.session.scalar(select(User).where(User.email == email))
    ok = password_matches(user.password_hash if user else _hashing()[1], password)
    return _settle_sign_in(
        email,
        user.id if user else None,
        ok,
        password,
        ip_address=ip_address,
        user_agent=user_agent,
        policy=policy or ThrottlePolicy(),
        now=now or utcnow(),
    )


@use_case
def _settle_sign_in(
    email: str,
    user_id: int | None,
    ok: bool,
    password: str,
    *,
    ip_address: str,
    user_agent: str,
    policy: ThrottlePolicy,
    now: datetime,
) -> tuple[User, LoginSession]:
    throttle = _throttle_for(email, now)
    user = db.session.get(User, user_id) if user_id else None
    if throttle.locked_until and throttle.locked_until > now:
        # A locked address cannot be used to guess: the password's verdict is not even looked at.
        audit.record("auth.sign_in_locked", actor=user, actor_email=email, ip_address=ip_address)
        raise SignInRefused(locked=True)

    if not ok or user is None or not user.may_sign_in:
        if now - throttle.window_started_at > policy.window:
            throttle.failures, throttle.window_started_at = 0, now
        throttle.failures += 1
        locked = throttle.failures >= policy.max_failures
        until = now + policy.lockout
        if locked:
            throttle.locked_until = until
            throttle.failures, throttle.window_started_at = 0, now
        reason = "inactive" if (ok and user is not None) else "bad_credentials"
        audit.record(
            "auth.sign_in_failed",
            actor=user,
            actor_email=email,
            ip_address=ip_address,
            reason=reason,
            locked=locked,
        )
        if locked:
            audit.record(
                "auth.address_locked",
                actor=user,
                actor_email=email,
                ip_address=ip_address,
                until=until.isoformat(),
            )
        raise SignInRefused(locked=locked)

    db.session.delete(throttle)
    if _hashing()[0].check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    session = LoginSession(
        id=secrets.token_urlsafe(32),
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        ip_address=ip_address[:64],
        user_agent=user_agent[:255],
    )
    db.session.add(session)
    audit.record("auth.sign_in", actor=user, ip_address=ip_address)
    return user, session


# Built once: it runs on every request, and building the statement cost more than running it. It brings
# the user's account (the language may come from it) and the data version (pages kept under it) along, so
# that a page rendered costs this one statement for the person. The session's own fields come as plain
# columns: made into an ORM object as well, it cost a sixth of a page served again.
_SIGNED_IN = (
    select(User, LoginSession.revoked_at, LoginSession.created_at, LoginSession.last_seen_at)
    .add_columns(changes.as_column())
    .join(LoginSession, LoginSession.user_id == User.id)
    .outerjoin(Account, Account.id == User.account_id)
    .where(LoginSession.id == bindparam("sid"), LoginSession.user_id == bindparam("uid"))
    .options(contains_eager(User.account))
)

# The same session as plain columns of the tables, for a page that may be served from the page cache: no
# ORM object is made for it (that was a third of a page served again). Executed on the session's connection,
# so the ORM is not asked at all.
_users, _sessions, _accounts = User.__table__, LoginSession.__table__, Account.__table__
_WHO = (
    select(
        _users.c.id,
        _users.c.role,
        _users.c.locale,
        _users.c.timezone,
        _users.c.active,
        _accounts.c.active,
        _accounts.c.preferred_language,
        _sessions.c.revoked_at,
        _sessions.c.created_at,
        _sessions.c.last_seen_at,
    )
    .add_columns(changes.as_column())
    .select_from(
        _users.join(_sessions, _sessions.c.user_id == _users.c.id).outerjoin(
            _accounts, _accounts.c.id == _users.c.account_id
        )
    )
    .where(_sessions.c.id == bindparam("sid"), _sessions.c.user_id == bindparam("uid"))
)


@dataclass(frozen=True, slots=True)
class SignedIn:
    """Who a session cookie names, as plain values: enough to find a page kept for them."""

    user_id: int
    role: str
    locale: str | None
    timezone: str | None
    account_language: str | None


def _still_signed_in(
    session_id: str,
    revoked_at: datetime | None,
    created_at: datetime,
    last_seen_at: datetime,
    may_sign_in: bool,
    now: datetime | None,
) -> bool:
    """The one rule for a session that still works: not revoked, younger than the sign-in lifetime (counted
    from signing in, however active the browser), and the user (and their account) not switched off."""
    now = now or utcnow()
    if (
        revoked_at is not None
        or not may_sign_in
        or now - created_at > current_app.config["PERMANENT_SESSION_LIFETIME"]
    ):
        return False
    if now - last_seen_at > LAST_SEEN_GRANULARITY:
        # Coarse on purpose: one small write every few minutes per browser, not one per request.
        db.session.execute(update(LoginSession).where(LoginSession.id == session_id).values(last_seen_at=now))
        db.session.commit()
    return True


def _cookie_ids(session_id: str | None, user_id: str | None) -> dict[str, object] | None:
    if not session_id or not user_id or not user_id.isdigit():
        return None
    return {"sid": session_id, "uid": int(user_id)}


def load_signed_in_user(session_id: str | None, user_id: str, *, now: datetime | None = None) -> User | None:
    """The user behind a session cookie, or None if the session no longer works (``_still_signed_in``)."""
    ids = _cookie_ids(session_id, user_id)
    row = db.session.execute(_SIGNED_IN, ids).first() if ids else None
    if row is None:
        return None
    user, revoked_at, created_at, last_seen_at, version = row
    changes.remember(version)
    if not _still_signed_in(str(session_id), revoked_at, created_at, last_seen_at, user.may_sign_in, now):
        return None
    return user


def read_signed_in(
    session_id: str | None, user_id: str | None, *, now: datetime | None = None
) -> SignedIn | None:
    """``load_signed_in_user`` without the ORM: who the cookie names, or None — the same rule, one statement
    (the data version comes with it). ``user_of`` makes the ORM user when a page has to be rendered."""
    ids = _cookie_ids(session_id, user_id)
    if not ids:
        return None
    # A connection of its own, not the ORM session's: a page served again then never makes a session
    # (making one, beginning it and closing it cost a third of the statement).
    with db.engine.connect() as connection:
        row = connection.execute(_WHO, ids).first()
    if row is None:
        return None
    (
        uid,
        role,
        locale,
        zone,
        active,
        account_active,
        language,
        revoked_at,
        created_at,
        last_seen_at,
        version,
    ) = row
    changes.remember(version)
    if not _still_signed_in(
        str(session_id), revoked_at, created_at, last_seen_at, User.signs_in(active, account_active), now
    ):
        return None
    return SignedIn(uid, role, locale, zone, language)


def user_of(signed_in: SignedIn) -> User | None:
    """The ORM user (with their account) of a session ``read_signed_in`` accepted in this request."""
    return db.session.get(User, signed_in.user_id, options=[joinedload(User.account)])


@use_case
def sign_out(
    session_id: str | None, *, user: User | None, ip_address: str = "", now: datetime | None = None
) -> None:
    if session_id:
        login_session = db.session.get(LoginSession, session_id)
        if login_session is not None and login_session.revoked_at is None:
            login_session.revoked_at = now or utcnow()
    if user is not None:
        audit.record("auth.sign_out", actor=user, ip_address=ip_address)


@use_case
def create_user(
    *,
    email: str,
    password: str,
    full_name: str,
    role: str,
    account: Account | None = None,
    departments: list[Department] | None = None,
    locale: str | None = None,
    phone: str = "",
    job_title: str = "",
    actor: User | None = None,
) -> User:
    """Create a user of any role; customers need an account, staff must not have one."""
    email = normalise_email(email)
    if role not in ROLES:
        raise InvalidInput("role", str(_l("Choose a role.")))
    if (role in CUSTOMER_ROLES) != (account is not None):
        raise InvalidInput("account", str(_l("A customer belongs to one account; staff to none.")))
    passwords.check(password, "password", user_inputs=(email, full_name))
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise InvalidInput("email", str(_l("This address already has a user.")))
    user = User(
        email=email,
        password_hash=hash_password(password),
        full_name=full_name,
        role=role,
        account=account,
        locale=locale,
        phone=phone,
        job_title=job_title,
    )
    user.departments = list(departments or [])
    db.session.add(user)
    db.session.flush()
    audit.record("user.created", actor=actor, obj=user, role=role, email=email)
    return user


@use_case
def set_active(user: User, active: bool, *, actor: User | None = None, now: datetime | None = None) -> None:
    """Deactivating signs the user out everywhere: every session of theirs is revoked (and would no longer
    load anyway), so switching them on again later brings no old browser back."""
    user.active = active
    if not active:
        db.session.execute(
            update(LoginSession)
            .where(LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None))
            .values(revoked_at=now or utcnow())
        )
    audit.record("user.activated" if active else "user.deactivated", actor=actor, obj=user)


@use_case
def set_locale(user: User, locale: str) -> None:
    user.locale = locale


@use_case
def update_profile(user: User, *, full_name: str, locale: str | None, timezone: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not full_name.strip():
        raise InvalidInput("full_name", str(_l("Give your name.")))
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidInput("timezone", str(_l("Choose a time zone from the list."))) from error
    user.full_name, user.locale, user.timezone = full_name.strip(), locale, timezone
    audit.record("user.profile_updated", actor=user, obj=user)


@use_case
def change_password(
    user: User,
    old: str,
    new: str,
    *,
    keep_session: str | None,
    ip_address: str = "",
    now: datetime | None = None,
) -> None:
    """The old password is required; every other signed-in browser of the user is signed out."""
    if not password_matches(user.password_hash, old):
        raise InvalidInput("old_password", str(_l("The current password is not correct.")))
    passwords.check(new, "new_password", user_inputs=(user.email, user.full_name))
    if new == old:
        raise InvalidInput("new_password", str(_l("Choose a password different from the current one.")))
    now = now or utcnow()
    user.password_hash = hash_password(new)
    for other in db.session.scalars(
        select(LoginSession).where(
            LoginSession.user_id == user.id,
            LoginSession.revoked_at.is_(None),
            LoginSession.id != (keep_session or ""),
        )
    ):
        other.revoked_at = now
    audit.record("user.password_changed", actor=user, obj=user, ip_address=ip_address)


# --- forgotten passwords ---------------------------------------------------------------------------------
# The link is signed, expires after PASSWORD_RESET_VALID and works once: it carries a fingerprint of the
# password hash, which changes when the password does. It is made when the email is sent and never stored.

PASSWORD_RESET_VALID = timedelta(hours=1)
_RESET_SALT = "password-reset"


def password_fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_RESET_SALT)


def password_reset_token(user: User) -> str:
    return _reset_serializer().dumps({"user": user.id, "fp": password_fingerprint(user)})


@use_case
def request_password_reset(email: str, *, ip_address: str = "") -> int | None:
    """The id of the active user to send a link to, or None; the caller answers the same either way."""
    email = normalise_email(email)
    user = db.session.scalar(select(User).where(User.email == email))
    audit.record(
        "auth.password_reset_requested",
        actor=user,
        actor_email=email,
        ip_address=ip_address,
        known=bool(user),
    )
    if user is not None and user.may_sign_in:
        background.enqueue("password_reset_email", user.id)
        return user.id
    return None


def user_for_reset(token: str) -> User:
    try:
        data = _reset_serializer().loads(token, max_age=int(PASSWORD_RESET_VALID.total_seconds()))
    except SignatureExpired as error:
        raise InvalidInput("token", str(_l("This link has expired; ask for a new one."))) from error
    except BadSignature as error:
        raise InvalidInput("token", str(_l("This link is not valid."))) from error
    user = db.session.get(User, data.get("user")) if isinstance(data, dict) else None
    if user is None or not user.may_sign_in or data.get("fp") != password_fingerprint(user):
        raise InvalidInput("token", str(_l("This link has already been used; ask for a new one.")))
    return user


@use_case
def reset_password(token: str, new: str, *, ip_address: str = "", now: datetime | None = None) -> User:
    """Set a new password from a reset link; every signed-in browser of the user is signed out and a
    sign-in lock on the address is lifted."""
    user = user_for_reset(token)
    passwords.check(new, "password", user_inputs=(user.email, user.full_name))
    now = now or utcnow()
    user.password_hash = hash_password(new)
    for session in db.session.scalars(
        select(LoginSession).where(LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None))
    ):
        session.revoked_at = now
    throttle = db.session.get(SignInThrottle, user.email)
    if throttle is not None:
        db.session.delete(throttle)
    audit.record("auth.password_reset", actor=user, obj=user, ip_address=ip_address)
    return user
