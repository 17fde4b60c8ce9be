"""Who is told what, and how.

Design: every change of a request already writes a timeline event, so notifications are derived from new
timeline events in one place — a ``before_flush`` hook on the session (``install``) — and no service can
forget to tell someone. The notices join the same transaction as the change. After the commit, the
notices that want an email are handed to the task queue (``portal/tasks.py``), which sends them with
retries; a failed send never fails the user's action, and a periodic job hands over any that were left
pending. Periodic jobs (``portal/services/reminders.py``) create notices with a ``dedupe_key`` so that
running a job twice tells nobody twice.

Customers are told only about public events of requests they can see; internal notes never reach them.
Each person chooses per kind: email, in-app, both or none (``NotificationPreference``). Password resets and
invitations are not notices: they are emailed directly, always, and their links are never stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.i18n import quantity
from portal.labels import label
from portal.models import Account, Notification, NotificationPreference, ServiceRequest, TimelineEvent, User
from portal.models.accounts import CUSTOMER_ROLES, STAFF_ROLES, department_memberships
from portal.models.base import utcnow
from portal.models.notifications import CHANNELS
from portal.services import background
from portal.services.unit_of_work import use_case


@dataclass(frozen=True)
class Kind:
    audience: str  # "customer", "staff" or "both": whose preferences list it
    title: Any  # lazy text shown in the preferences and as the email's subject line
    text: Any  # lazy text with %(...)s fields from the notice's data


KINDS: dict[str, Kind] = {
    "request_acknowledged": Kind(
        "customer",
        _l("Request received"),
        _l("We received %(ref)s “%(title)s”. We will answer by %(due)s at the latest."),
    ),
    "staff_reply": Kind(
        "customer", _l("Reply from our team"), _l("%(actor)s replied on %(ref)s “%(title)s”.")
    ),
    "waiting_for_you": Kind(
        "customer", _l("Waiting for your answer"), _l("%(ref)s “%(title)s” waits for your answer.")
    ),
    "visit_scheduled": Kind(
        "customer", _l("Visit scheduled"), _l("The visit for %(ref)s “%(title)s” is scheduled for %(visit)s.")
    ),
    "request_resolved": Kind(
        "customer",
        _l("Request resolved"),
        _l("%(ref)s “%(title)s” is resolved. Please confirm, or reopen it if the problem remains."),
    ),
    "request_closed": Kind(
        "customer",
        _l("Request closed"),
        _l("%(ref)s “%(title)s” was closed after %(days)s without an answer."),
    ),
    "approval_needed": Kind(
        "customer",
        _l("Approval needed"),
        _l("%(ref)s “%(title)s” goes beyond the contract and waits for your approval."),
    ),
    "approval_decided": Kind(
        "customer",
        _l("Approval decided"),
        _l("Your administrator decided on %(ref)s “%(title)s”: %(decision)s."),
    ),
    "report_published": Kind(
        "customer", _l("Report delivered"), _l("A report was delivered on %(ref)s: “%(report)s”.")
    ),
    "survey_invitation": Kind(
        "customer",
        _l("Survey: how are we doing?"),
        _l("Please tell us how we are doing: a few questions, a minute or two."),
    ),
    "contract_expiring": Kind(
        "both",
        _l("Contract ending"),
        _l("Contract %(contract)s of %(account)s ends on %(end)s (in %(days)s)."),
    ),
    "proposal_sent": Kind(
        "customer",
        _l("Proposal to answer"),
        _l("Proposal %(number)s “%(title)s” waits for your answer; it holds until %(end)s."),
    ),
    "proposal_answered": Kind(
        "staff", _l("Proposal answered"), _l("%(name)s answered proposal %(number)s “%(title)s”: %(answer)s.")
    ),
    "renewal_due": Kind(
        "staff",
        _l("Renewal to prepare"),
        _l("Contract %(contract)s of %(account)s ends on %(end)s: prepare the renewal proposal."),
    ),
    "new_request": Kind(
        "staff",
        _l("New request in your department"),
        _l("%(ref)s “%(title)s” from %(account)s is in %(department)s."),
    ),
    "assigned_to_you": Kind("staff", _l("Assigned to you"), _l("%(ref)s “%(title)s” is assigned to you.")),
    "customer_reply": Kind("staff", _l("Customer replied"), _l("%(actor)s replied on %(ref)s “%(title)s”.")),
    "request_reopened": Kind("staff", _l("Request reopened"), _l("%(actor)s reopened %(ref)s “%(title)s”.")),
    "sla_at_risk": Kind(
        "staff",
        _l("SLA at risk"),
        _l("%(ref)s “%(title)s” has used 80 %% of its resolution time; due %(due)s."),
    ),
    "sla_breached": Kind(
        "staff", _l("SLA breached"), _l("%(ref)s “%(title)s” missed its resolution target (%(due)s).")
    ),
    "follow_up_opened": Kind(
        "staff",
        _l("Low survey score"),
        _l("%(account)s gave a low score; a follow-up is waiting for you."),
    ),
    "return_visit_due": Kind(
        "staff", _l("Return visit due"), _l("%(account)s is due for a return visit since %(due_on)s.")
    ),
}


def kinds_for(user: User) -> list[str]:
    """The kinds a person can receive, in the order the profile lists them."""
    audience = "customer" if user.role in CUSTOMER_ROLES else "staff"
    return [code for code, kind in KINDS.items() if kind.audience in (audience, "both")]


# --- preferences -----------------------------------------------------------------------------------------


def channels_of(user_ids: Iterable[int], kind: str) -> dict[int, str]:
    ids = list(user_ids)
    chosen = dict(
        db.session.execute(
            select(NotificationPreference.user_id, NotificationPreference.channel).where(
                NotificationPreference.user_id.in_(ids), NotificationPreference.kind == kind
            )
        ).all()
    )
    return {i: chosen.get(i, "both") for i in ids}


def preferences(user: User) -> dict[str, str]:
    chosen = dict(
        db.session.execute(
            select(NotificationPreference.kind, NotificationPreference.channel).where(
                NotificationPreference.user_id == user.id
            )
        ).all()
    )
    return {kind: chosen.get(kind, "both") for kind in kinds_for(user)}


@use_case
def set_preferences(user: User, choices: dict[str, str]) -> None:
    """Save the person's channel per kind; kinds they cannot receive and unknown channels are ignored."""
    allowed = set(kinds_for(user))
    for kind, channel in choices.items():
        if kind not in allowed or channel not in CHANNELS:
            continue
        row = db.session.get(NotificationPreference, (user.id, kind))
        if row is None:
            db.session.add(NotificationPreference(user_id=user.id, kind=kind, channel=channel))
        else:
            row.channel = channel


# --- creating notices ------------------------------------------------------------------------------------


def notify(
    users: Iterable[User],
    kind: str,
    *,
    request: ServiceRequest | None = None,
    data: dict[str, Any] | None = None,
    dedupe_key: str | Callable[[User], str] | None = None,
    at: datetime | None = None,
    session: Any = None,
) -> list[Notification]:
    """Add one notice per active recipient, as each chose for this kind. ``dedupe_key`` (one key, or a key
    per recipient) makes it once-only. Does not commit."""
    session = db.session if session is None else session
    recipients = {u.id: u for u in users if u is not None and u.active}
    if not recipients:
        return []
    with session.no_autoflush:
        channels = channels_of(recipients, kind)
        quiet_email = session.info.get("notifications_without_email", False)
        created = []
        for user_id, user in recipients.items():
            channel = channels[user_id]
            if channel == "none":
                continue
            key = dedupe_key(user) if callable(dedupe_key) else dedupe_key
            if key and session.scalar(select(Notification.id).where(Notification.dedupe_key == key)):
                continue
            wants_email = channel in ("both", "email") and not quiet_email
            notice = Notification(
                user_id=user_id,
                kind=kind,
                request_id=request.id if request is not None else None,
                data=dict(data or {}),
                in_app=channel in ("both", "in_app"),
                email_state="pending" if wants_email else "none",
                dedupe_key=key,
                created_at=at or utcnow(),
            )
            session.add(notice)
            created.append(notice)
    return created


@contextmanager
def without_email() -> Iterator[None]:
    """Notices made inside are in-app only (the demo company's history must not fill the outbox)."""
    db.session.info["notifications_without_email"] = True
    try:
        yield
    finally:
        db.session.info.pop("notifications_without_email", None)


def _request_data(request: ServiceRequest, **extra: Any) -> dict[str, Any]:
    return {"ref": request.reference, "title": request.title, **extra}


def _department_staff(session: Any, department_id: int | None) -> list[User]:
    if department_id is None:
        return []
    return list(
        session.scalars(
            select(User)
            .join(department_memberships, department_memberships.c.user_id == User.id)
            .where(
                department_memberships.c.department_id == department_id,
                User.role.in_(STAFF_ROLES),
                User.active,
            )
            .order_by(User.id)
        )
    )


def department_leads(session: Any, department_id: int | None) -> list[User]:
    return [u for u in _department_staff(session, department_id) if u.role == "lead"]


def _account_admins(session: Any, account_id: int | None) -> list[User]:
    if account_id is None:  # a prospect's pre-sale request: nobody outside
        return []
    return list(
        session.scalars(
            select(User).where(User.account_id == account_id, User.role == "customer_admin", User.active)
        )
    )


def from_timeline(session: Session, event: TimelineEvent) -> None:
    """The notices one new timeline event causes."""
    request = session.get(ServiceRequest, event.request_id)
    if request is None:
        return
    actor = session.get(User, event.actor_id) if event.actor_id else None
    by_staff = actor is not None and actor.account_id is None
    requester = session.get(User, request.requester_id) if request.requester_id else None
    assignee = session.get(User, request.assignee_id) if request.assignee_id else None
    others = lambda users: [u for u in users if u is not None and u.id != event.actor_id]  # noqa: E731
    kind, data = event.kind, event.data or {}
    at = event.created_at

    def tell(users: Sequence[User | None], what: str, **extra: Any) -> None:
        # Nobody is told about what they did themselves, except that their request has arrived.
        recipients = [u for u in users if u is not None] if what == "request_acknowledged" else others(users)
        data = _request_data(request, **extra)
        notify(recipients, what, request=request, data=data, at=at, session=session)

    if event.internal:
        if kind == "assigned" and data.get("assignee_id"):
            tell([session.get(User, data["assignee_id"])], "assigned_to_you")
        return  # nothing internal ever reaches a customer
    if kind == "created":
        due = request.first_response_due_at
        tell([requester], "request_acknowledged", due=due.isoformat() if due else "")
    elif kind == "routed" and data.get("department"):
        department = request.department
        # For a prospect's pre-sale request: the prospect's name, in either language.
        names = (
            account_names(request.account)
            if request.account
            else dict.fromkeys(("account", "account_en"), request.party_name("zh"))
        )
        tell(
            _department_staff(session, request.department_id),
            "new_request",
            **names,
            department=department.code if department else "",
        )
    elif kind == "assigned" and data.get("assignee_id"):
        tell([session.get(User, data["assignee_id"])], "assigned_to_you")
    elif kind == "public_reply":
        excerpt = (event.body or "")[:1000]
        name = actor.full_name if actor else ""
        if by_staff:
            tell([requester], "staff_reply", actor=name, body=excerpt)
        else:
            tell([assignee], "customer_reply", actor=name, body=excerpt)
    elif kind == "status_changed":
        target, action = data.get("to"), data.get("action")
        if target == "waiting_customer":
            tell([requester], "waiting_for_you", body=(event.body or "")[:1000])
        elif target == "resolved":
            tell([requester], "request_resolved", body=(event.body or "")[:1000])
        elif action == "reopen":
            tell([assignee], "request_reopened", actor=actor.full_name if actor else "")
        elif target == "closed" and actor is None and data.get("auto_close_days"):
            tell([requester], "request_closed", days=data["auto_close_days"])
    elif kind == "visit_scheduled":
        tell([requester], "visit_scheduled", visit=data.get("visit_at", ""))
    elif kind == "approval":
        decision = data.get("decision")
        if decision == "pending":
            tell(_account_admins(session, request.account_id), "approval_needed")
        elif decision in ("approved", "declined"):
            tell([requester], "approval_decided", decision=decision)
    elif kind == "deliverable_published":
        tell([requester], "report_published", report=event.body)


# --- the session hooks -----------------------------------------------------------------------------------


def _before_flush(session: Session, flush_context: object, instances: object) -> None:
    for obj in list(session.new):
        if isinstance(obj, TimelineEvent) and obj.request_id is not None:
            with session.no_autoflush:
                from_timeline(session, obj)


def _after_flush(session: Session, flush_context: object) -> None:
    # Each email leaves when its notice is committed (and not if it is rolled back, savepoint or all).
    for obj in session.new:
        if isinstance(obj, Notification) and obj.email_state == "pending":
            background.after_commit("notification_email", obj.id, session=session)


def install() -> None:
    """Hook the notices onto the app's session (called once by create_app)."""
    target = db.session
    if not event.contains(target, "before_flush", _before_flush):
        event.listen(target, "before_flush", _before_flush)
        event.listen(target, "after_flush", _after_flush)


# --- reading and marking ---------------------------------------------------------------------------------


def unread_count(user: User) -> int:
    return (
        db.session.scalar(
            select(func.count(Notification.id)).where(
                Notification.user_id == user.id, Notification.in_app, Notification.read_at.is_(None)
            )
        )
        or 0
    )


PAGE_SIZE = 30


def inbox(user: User, *, before_id: int | None = None) -> list[Notification]:
    query = select(Notification).where(Notification.user_id == user.id, Notification.in_app)
    if before_id:
        query = query.where(Notification.id < before_id)
    return list(db.session.scalars(query.order_by(Notification.id.desc()).limit(PAGE_SIZE + 1)))


@use_case
def mark_read(user: User, notification_id: int) -> Notification | None:
    notice = db.session.get(Notification, notification_id)
    if notice is None or notice.user_id != user.id:
        return None
    if notice.read_at is None:
        notice.read_at = utcnow()
    return notice


@use_case
def mark_all_read(user: User) -> None:
    db.session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )


def account_names(account: Account | None) -> dict[str, str]:
    """An account's names for a notice's data: the sentence is written in each reader's language later."""
    if account is None:
        return {"account": ""}
    return {"account": account.name, "account_en": account.name_en or account.name}


def describe(notice: Notification, at: Callable[[datetime], str], day: Callable[[date], str]) -> str:
    """The sentence for a notice in the current language; moments through ``at`` and days through ``day``
    (both in the reader's language and time zone)."""
    kind = KINDS.get(notice.kind)
    if kind is None:
        return notice.kind
    fields = _Fields({k: v for k, v in (notice.data or {}).items() if isinstance(v, str | int | float)})
    for key in ("due", "visit"):
        if fields.get(key):
            fields[key] = at(datetime.fromisoformat(fields[key]))
    for key in ("end", "due_on"):
        if fields.get(key):
            fields[key] = day(date.fromisoformat(fields[key]))
    if fields.get("days") not in (None, ""):
        fields["days"] = quantity(Decimal(str(fields["days"])), "day")  # "1 day", "3 days", "3 天"
    if fields.get("account_en") and str(get_locale() or "") == "en":
        fields["account"] = fields["account_en"]
    if notice.kind == "new_request":
        fields["department"] = label("department", fields.get("department"))
    if notice.kind == "proposal_answered":
        fields["answer"] = label("proposal_answer", fields.get("answer"))
    if notice.kind == "approval_decided":
        fields["decision"] = str(_l("approved") if fields.get("decision") == "approved" else _l("declined"))
    return str(kind.text) % fields


class _Fields(dict[str, Any]):
    """Missing fields read as empty rather than failing a whole page."""

    def __missing__(self, key: str) -> str:
        return ""
