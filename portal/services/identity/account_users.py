"""An account's users, managed by its customer administrator or by the portal's administrators: invite,
change role, deactivate. (Who may: ``permissions.can_manage_users_of`` and ``can_manage_user``.) Staff
users are invited the same way (``identity/staff.py``).

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

from portal import permissions
from portal.extensions import db
from portal.models import Account, User
from portal.services import audit, background
from portal.services.errors import InvalidInput, Problems
from portal.services.identity import auth, passwords
from portal.services.requests.workflow import NotAllowed
from portal.services.unit_of_work import use_case

INVITATION_DAYS = 7
_SALT = "account-invitation"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _fingerprint(user: User) -> str:
    return auth.password_fingerprint(user)


def users_of(account_id: int) -> list[User]:
    return list(
        db.session.scalars(select(User).where(User.account_id == account_id).order_by(User.full_name))
    )


def account_users(admin: User) -> list[User]:
    return users_of(admin.account_id) if admin.account_id is not None else []


def _require_manager(admin: User, user: User) -> None:
    if not permissions.can_manage_user(admin, user) or user.account_id is None:
        raise NotAllowed(str(_l("Only the account's administrator can manage its users.")))


@use_case
def invite(
    admin: User, *, email: str, full_name: str, role: str, account: Account | None = None
) -> User | None:
    """Invite a colleague (``account``: the administrator's own, unless a portal administrator names one):
    the one-time link goes to their address only, by email (the inviter never sees it, or could set the
    colleague's password). Only addresses on the account's own email domains; an address that already has
    a user — of this account, another, or staff — gets the same answer as any other and nothing is created
    or sent (None), so that inviting reveals nothing about others."""
    account = account or admin.account
    if account is None or not permissions.can_manage_users_of(admin, account):
        raise NotAllowed(str(_l("Only the account's administrator can manage its users.")))
    problems = Problems()
    if role not in ("customer", "customer_admin"):
        problems.add("role", _l("Choose a role."))
    if not full_name.strip():
        problems.add("full_name", _l("Give the person's name."))
    email = auth.normalise_email(email)
    domain = email.rpartition("@")[2]
    if not email.partition("@")[0] or not domain:
        problems.add("email", _l("Give an email address."))
    elif not account.domains:
        problems.add(
            "email",
            _l("Your account has no email domains on record yet; ask your account manager.")
            if admin.account_id == account.id
            else _l("The account has no email domains yet: add them to its details first."),
        )
    elif domain not in account.domains:
        domains = ", ".join(account.domains)
        problems.add(
            "email",
            _l("Invite addresses on your company's domains: %(domains)s.", domains=domains)
            if admin.account_id == account.id
            else _l("Invite addresses on the account's domains: %(domains)s.", domains=domains),
        )
    problems.raise_any()
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        audit.record("user.invitation_not_sent", actor=admin, email=email, reason="address_taken")
        return None
    user = auth.create_user(
        email=email,
        password=secrets.token_urlsafe(32),
        full_name=full_name,
        role=role,
        account=account,
        actor=admin,
    )
    background.enqueue("invitation_email", user.id, admin.id)
    return user


def invite_first_administrator(
    account: Account, *, email: str, full_name: str, locale: str, inviter_id: int | None
) -> User | None:
    """The administrator of an account the portal opened (a won prospect's contact), invited by email the
    way a colleague is; an address that already has a user is left alone (None)."""
    email = auth.normalise_email(email)
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        audit.record("user.invitation_not_sent", email=email, reason="address_taken")
        return None
    user = auth.create_user(
        email=email,
        password=secrets.token_urlsafe(32),
        full_name=full_name.strip()[:120] or email,
        role="customer_admin",
        account=account,
        locale=locale,
    )
    if inviter_id is not None:
        background.enqueue("invitation_email", user.id, inviter_id)
    return user


def awaits_first_sign_in(user: User) -> bool:
    """Invited and never signed in: the invitation can be sent again."""
    return user.active and user.last_login_at is None


@use_case
def resend_invitation(admin: User, user: User) -> None:
    """Send the one-time link again, to the colleague's address (a fresh link; the earlier one still works
    until a password is set)."""
    _require_manager(admin, user)
    if not awaits_first_sign_in(user):
        raise InvalidInput("user", str(_l("%(name)s has signed in already.", name=user.full_name)))
    audit.record("user.invitation_sent_again", actor=admin, obj=user)
    background.enqueue("invitation_email", user.id, admin.id)


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
    if user is None or not user.may_sign_in or data.get("fp") != _fingerprint(user):
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
    _require_manager(admin, user)
    if role not in ("customer", "customer_admin"):
        raise InvalidInput("role", str(_l("Choose a role.")))
    if user.id == admin.id and role != "customer_admin":
        raise InvalidInput("role", str(_l("You cannot remove your own administrator role.")))
    user.role = role
    audit.record("user.role_changed", actor=admin, obj=user, role=role)


@use_case
def set_active(admin: User, user: User, active: bool) -> None:
    _require_manager(admin, user)
    if user.id == admin.id:
        raise InvalidInput("active", str(_l("You cannot deactivate yourself.")))
    auth.set_active(user, active, actor=admin)
