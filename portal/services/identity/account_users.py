"""A key account's administrator manages the account's own users: invite, change role, deactivate.

An invitation creates the user without a usable password and gives a signed link that lets them set one.
The link expires after INVITATION_DAYS and works once: it carries a fingerprint of the password hash, which
changes as soon as a password is set.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from portal.extensions import db
from portal.models import User
from portal.services import audit, background
from portal.services.errors import InvalidInput
from portal.services.identity import auth, passwords
from portal.services.requests.workflow import NotAllowed
from portal.services.unit_of_work import use_case

INVITATION_DAYS = 7
_SALT = "account-invitation"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _fingerprint(user: User) -> str:
    return auth.password_fingerprint(user)


def account_users(admin: User) -> list[User]:
    return list(
        db.session.scalars(select(User).where(User.account_id == admin.account_id).order_by(User.full_name))
    )


def _require_admin(admin: User, user: User | None = None) -> None:
    if admin.role != "customer_admin" or (user is not None and user.account_id != admin.account_id):
        raise NotAllowed(str(_l("Only the account's administrator can manage its users.")))


@use_case
def invite(admin: User, *, email: str, full_name: str, role: str) -> tuple[User, str]:
    """Create the colleague and return the one-time link token to give them."""
    _require_admin(admin)
    if role not in ("customer", "customer_admin"):
        raise InvalidInput("role", str(_l("Choose a role.")))
    user = auth.create_user(
        email=email,
        password=secrets.token_urlsafe(32),
        full_name=full_name,
        role=role,
        account=admin.account,
        actor=admin,
    )
    background.enqueue("invitation_email", user.id, admin.id)
    return user, invitation_token(user)


def invitation_token(user: User) -> str:
    return _serializer().dumps({"user": user.id, "fp": _fingerprint(user)})


def user_for_invitation(token: str) -> User:
    """The invited user, or ``InvalidInput`` for a link that is expired, used, tampered with or revoked."""
    try:
        data = _serializer().loads(token, max_age=int(timedelta(days=INVITATION_DAYS).total_seconds()))
    except SignatureExpired as error:
        raise InvalidInput(
            "token", str(_l("This invitation has expired; ask your administrator for a new one."))
        ) from error
    except BadSignature as error:
        raise InvalidInput("token", str(_l("This invitation link is not valid."))) from error
    user = db.session.get(User, data.get("user")) if isinstance(data, dict) else None
    if user is None or not user.active or data.get("fp") != _fingerprint(user):
        raise InvalidInput("token", str(_l("This invitation link has already been used or was withdrawn.")))
    return user


@use_case
def accept_invitation(token: str, password: str) -> User:
    user = user_for_invitation(token)
    passwords.check(password, "password", user_inputs=(user.email, user.full_name))
    user.password_hash = auth.hash_password(password)
    audit.record("user.invitation_accepted", actor=user, obj=user)
    return user


@use_case
def set_role(admin: User, user: User, role: str) -> None:
    _require_admin(admin, user)
    if role not in ("customer", "customer_admin"):
        raise InvalidInput("role", str(_l("Choose a role.")))
    if user.id == admin.id and role != "customer_admin":
        raise InvalidInput("role", str(_l("You cannot remove your own administrator role.")))
    user.role = role
    audit.record("user.role_changed", actor=admin, obj=user, role=role)


@use_case
def set_active(admin: User, user: User, active: bool) -> None:
    _require_admin(admin, user)
    if user.id == admin.id:
        raise InvalidInput("active", str(_l("You cannot deactivate yourself.")))
    auth.set_active(user, active, actor=admin)
