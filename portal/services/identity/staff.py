"""The company's own people in the back office: invite a colleague with a role and departments, change
them, switch someone off (signed out everywhere at once), send a password reset; and the departments'
names and automatic assignment. Only administrators (``permissions.can_run_back_office``).

There is always an administrator: nobody can switch off, or take the role from, the last active one —
checked with the administrators' rows locked, so that two administrators removing each other at the same
moment cannot both succeed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload

from portal import permissions
from portal.extensions import db
from portal.models import Department, User
from portal.models.accounts import INTERNAL_ROLES, LANGUAGES, STAFF_ROLES, department_memberships
from portal.services import audit, background
from portal.services.errors import InvalidInput, NotAllowed, Problems
from portal.services.identity import account_users, auth
from portal.services.unit_of_work import use_case


@dataclass(frozen=True)
class StaffDetails:
    full_name: str
    role: str
    department_ids: tuple[int, ...]
    locale: str | None = None


def _require_back_office(actor: User) -> None:
    if not permissions.can_run_back_office(actor):
        raise NotAllowed(str(_l("Only an administrator can do this.")))


def _departments(details: StaffDetails, problems: Problems) -> list[Department]:
    if details.role not in INTERNAL_ROLES:
        problems.add("role", _l("Choose a role."))
        return []
    found = list(db.session.scalars(select(Department).where(Department.id.in_(details.department_ids))))
    if len(found) != len(set(details.department_ids)):
        problems.add("department_ids", _l("Choose departments from the list."))
    if details.role in STAFF_ROLES and not details.department_ids:
        problems.add("department_ids", _l("Agents and leads work in at least one department."))
    # Only agents and leads work in departments (the queues); other roles see by role, not by department.
    return sorted(found, key=lambda d: d.id) if details.role in STAFF_ROLES else []


def _check_details(details: StaffDetails, problems: Problems) -> list[Department]:
    if not details.full_name.strip():
        problems.add("full_name", _l("Give the person's name."))
    if details.locale not in (None, *LANGUAGES):
        problems.add("locale", _l("Choose one from the list."))
    return _departments(details, problems)


@use_case
def invite_staff(actor: User, email: str, details: StaffDetails) -> User:
    """A new colleague, without a usable password: the invitation email carries a one-time link to choose
    one (``account_users`` makes and checks it)."""
    _require_back_office(actor)
    problems = Problems()
    email = auth.normalise_email(email)
    if "@" not in email.strip("@") or " " in email:
        problems.add("email", _l("Give an email address."))
    elif db.session.scalar(select(User.id).where(User.email == email)) is not None:
        problems.add("email", _l("This address already has a user."))
    departments = _check_details(details, problems)
    problems.raise_any()
    user = auth.create_user(
        email=email,
        password=secrets.token_urlsafe(32),
        full_name=details.full_name.strip(),
        role=details.role,
        departments=departments,
        locale=details.locale,
        actor=actor,
    )
    background.enqueue("invitation_email", user.id, actor.id)
    return user


def _staff(user: User) -> None:
    if user.account_id is not None:
        raise NotAllowed(str(_l("This is a customer's user; manage them on their account's page.")))


def _keeps_an_administrator(user: User) -> None:
    """Refuses if ``user`` is the last active administrator. Every active administrator's row is locked
    while counting (theirs included): two administrators switching each other off at once then take turns,
    and the second finds the first already gone."""
    administrators = select(User.id).where(User.role == "admin", User.active).with_for_update()
    active = db.session.scalars(administrators).all()
    if user.role == "admin" and user.active and not [i for i in active if i != user.id]:
        raise InvalidInput("role", str(_l("There must be an administrator: this is the last one.")))


@use_case
def update_staff(actor: User, user: User, details: StaffDetails) -> None:
    _require_back_office(actor)
    _staff(user)
    problems = Problems()
    departments = _check_details(details, problems)
    if details.role != user.role and user.role == "admin":
        try:
            _keeps_an_administrator(user)
        except InvalidInput as error:
            problems.take(error)
    problems.raise_any()
    before = (user.full_name, user.role, [d.id for d in user.departments], user.locale)
    user.full_name, user.locale = details.full_name.strip(), details.locale
    if details.role != user.role:
        audit.record("user.role_changed", actor=actor, obj=user, role=details.role, was=user.role)
        user.role = details.role
    if [d.id for d in departments] != before[2]:
        user.departments = departments
        audit.record(
            "user.departments_changed", actor=actor, obj=user, departments=[d.code for d in departments]
        )
    if (user.full_name, user.locale) != (before[0], before[3]):
        audit.record("user.profile_updated", actor=actor, obj=user)


@use_case
def set_staff_active(actor: User, user: User, active: bool) -> None:
    """Switching someone off signs them out of every browser at once (``auth.set_active``)."""
    _require_back_office(actor)
    _staff(user)
    if user.id == actor.id and not active:
        raise InvalidInput("active", str(_l("You cannot deactivate yourself.")))
    if user.active == active:
        return
    if not active:
        _keeps_an_administrator(user)
    auth.set_active(user, active, actor=actor)


@use_case
def send_password_reset(actor: User, user: User) -> None:
    """A reset link to the colleague's own address (the administrator never sees it)."""
    _require_back_office(actor)
    _staff(user)
    if not user.active:
        raise InvalidInput("active", str(_l("Switch %(name)s on first.", name=user.full_name)))
    audit.record("user.password_reset_sent", actor=actor, obj=user)
    background.enqueue("password_reset_email", user.id)


@use_case
def resend_invitation(actor: User, user: User) -> None:
    _require_back_office(actor)
    _staff(user)
    if not account_users.awaits_first_sign_in(user):
        raise InvalidInput("user", str(_l("%(name)s has signed in already.", name=user.full_name)))
    audit.record("user.invitation_sent_again", actor=actor, obj=user)
    background.enqueue("invitation_email", user.id, actor.id)


@dataclass(frozen=True)
class StaffFilters:
    search: str = ""
    role: str = ""
    department_id: int | None = None
    state: str = ""  # "", "active" or "inactive"


def staff_list(filters: StaffFilters) -> Select[User]:
    query = (
        select(User)
        .where(User.account_id.is_(None))
        .options(selectinload(User.departments))
        .order_by(User.full_name, User.id)
    )
    if filters.search.strip():
        text = f"%{filters.search.strip().lower()}%"
        query = query.where(or_(func.lower(User.full_name).like(text), User.email.like(text)))
    if filters.role:
        query = query.where(User.role == filters.role)
    if filters.department_id is not None:
        query = query.where(
            User.id.in_(
                select(department_memberships.c.user_id).where(
                    department_memberships.c.department_id == filters.department_id
                )
            )
        )
    if filters.state in ("active", "inactive"):
        query = query.where(User.active.is_(filters.state == "active"))
    return query


# --- departments -------------------------------------------------------------------------------------------


@use_case
def update_department(actor: User, department: Department, *, name_zh: str, name_en: str) -> None:
    """A department's names (its code, which routing rules and reports name, stays)."""
    _require_back_office(actor)
    problems = Problems()
    if not name_zh.strip():
        problems.add("name_zh", _l("Give the Chinese name."))
    if not name_en.strip():
        problems.add("name_en", _l("Give the English name."))
    problems.raise_any()
    if (department.name_zh, department.name_en) == (name_zh.strip(), name_en.strip()):
        return
    department.name_zh, department.name_en = name_zh.strip(), name_en.strip()
    audit.record("department.renamed", actor=actor, obj=department, name_zh=name_zh, name_en=name_en)
