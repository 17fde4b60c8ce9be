"""Potential key accounts (潜在大客户), from the first record to the needs analysis.

Marketing records a prospect (or sales does) and screens it: qualified — handed to a sales owner — or
rejected with a reason. The owner records the first contact and then the needs analysis (what was learnt,
as the account's contact log would hold it); anyone who sees prospects adds notes; a prospect can be lost
with a reason at any stage before it is won. Each step is an activity on the prospect and moves its stage
only forward: new → qualified → first contact made → needs analysed (then proposal sent and won, by its
proposals). Who may: ``permissions`` (sees_prospects, can_screen_prospect, can_work_prospect).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload

from portal import permissions
from portal.extensions import db
from portal.models import Prospect, ProspectActivity, User
from portal.models.accounts import INDUSTRIES, SIZES
from portal.models.base import utcnow
from portal.models.pipeline import PROSPECT_SOURCES, PROSPECT_STAGES
from portal.services import audit
from portal.services.errors import InvalidInput, NotAllowed, Problems
from portal.services.unit_of_work import use_case

# The stage each step leads to, and the stages it may be taken from.
STEPS = {
    "first_contact": ("first_contact", ("qualified",)),
    "needs_analysis": ("needs_analysed", ("first_contact",)),
}


@dataclass(frozen=True)
class ProspectDetails:
    name: str
    industry: str
    size: str
    source: str
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    notes: str = ""


def _checked(details: ProspectDetails) -> ProspectDetails:
    problems = Problems()
    if not details.name.strip():
        problems.add("name", _l("Give the company's name."))
    for name, value, vocabulary in (
        ("industry", details.industry, INDUSTRIES),
        ("size", details.size, SIZES),
        ("source", details.source, PROSPECT_SOURCES),
    ):
        if value not in vocabulary:
            problems.add(name, _l("Choose one from the list."))
    email = details.contact_email.strip().lower()
    if email and ("@" not in email.strip("@") or " " in email):
        problems.add("contact_email", _l("Give an email address, or leave it empty."))
    problems.raise_any()
    return ProspectDetails(
        name=details.name.strip(),
        industry=details.industry,
        size=details.size,
        source=details.source,
        contact_name=details.contact_name.strip(),
        contact_email=email,
        contact_phone=details.contact_phone.strip(),
        notes=details.notes.strip(),
    )


def check(details: ProspectDetails) -> None:
    """Every problem of the details at once (``InvalidInput``), writing nothing."""
    _checked(details)


def _activity(prospect: Prospect, kind: str, actor: User, body: str = "") -> None:
    prospect.activities.append(ProspectActivity(kind=kind, actor_id=actor.id, body=body, created_at=utcnow()))


def _move(prospect: Prospect, stage: str) -> None:
    prospect.stage, prospect.stage_changed_at = stage, utcnow()


@use_case
def record(actor: User, details: ProspectDetails) -> Prospect:
    if not permissions.can_record_prospect(actor):
        raise NotAllowed(str(_l("Marketing and sales record prospects.")))
    details = _checked(details)
    prospect = Prospect(**vars(details), stage="new", recorded_by_id=actor.id)
    db.session.add(prospect)
    _activity(prospect, "recorded", actor)
    db.session.flush()
    audit.record("prospect.recorded", actor=actor, obj=prospect, source=prospect.source)
    return prospect


@use_case
def qualify(actor: User, prospect: Prospect, owner: User | None, note: str = "") -> None:
    """Hand a new prospect to its sales owner (an active agent or lead of sales)."""
    if not permissions.can_screen_prospect(actor, prospect):
        raise NotAllowed(str(_l("Only a new prospect is screened, by marketing or a sales lead.")))
    if owner is None or not owner.active or not any(d.code == "sales" for d in owner.departments):
        raise InvalidInput("owner_id", str(_l("Choose someone of sales.")))
    prospect.owner_id = owner.id
    _move(prospect, "qualified")
    _activity(prospect, "qualified", actor, note.strip())
    audit.record("prospect.qualified", actor=actor, obj=prospect, owner=owner.email)


@use_case
def reject(actor: User, prospect: Prospect, reason: str) -> None:
    """Screened out: not a potential key account (the reason says why)."""
    if not permissions.can_screen_prospect(actor, prospect):
        raise NotAllowed(str(_l("Only a new prospect is screened, by marketing or a sales lead.")))
    if not reason.strip():
        raise InvalidInput("reason", str(_l("Say why.")))
    prospect.lost_reason = reason.strip()[:500]
    _move(prospect, "lost")
    _activity(prospect, "rejected", actor, reason.strip())
    audit.record("prospect.rejected", actor=actor, obj=prospect)


@use_case
def take_step(actor: User, prospect: Prospect, step: str, notes: str) -> None:
    """The first contact made, or the needs analysed: what was learnt, and the stage moves on."""
    if step not in STEPS:
        raise InvalidInput("step", str(_l("Choose one from the list.")))
    stage, after = STEPS[step]
    if not permissions.can_work_prospect(actor, prospect):
        raise NotAllowed(str(_l("The prospect's sales owner or a sales lead does this.")))
    problems = Problems()
    if prospect.stage not in after:
        problems.add("step", _l("Not at this stage: the first contact comes before the needs analysis."))
    if not notes.strip():
        problems.add("notes", _l("Say what was learnt."))
    problems.raise_any()
    _move(prospect, stage)
    _activity(prospect, step, actor, notes.strip())
    audit.record(f"prospect.{step}", actor=actor, obj=prospect)


@use_case
def add_note(actor: User, prospect: Prospect, body: str) -> None:
    if not permissions.can_view_prospect(actor, prospect):
        raise NotAllowed(str(_l("Marketing and sales see prospects.")))
    if not body.strip():
        raise InvalidInput("body", str(_l("Write the note.")))
    _activity(prospect, "note", actor, body.strip())


@use_case
def lose(actor: User, prospect: Prospect, reason: str) -> None:
    if not permissions.can_work_prospect(actor, prospect):
        raise NotAllowed(str(_l("The prospect's sales owner or a sales lead does this.")))
    if not reason.strip():
        raise InvalidInput("reason", str(_l("Say why.")))
    prospect.lost_reason = reason.strip()[:500]
    _move(prospect, "lost")
    _activity(prospect, "lost", actor, reason.strip())
    audit.record("prospect.lost", actor=actor, obj=prospect)


# --- lists -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProspectFilters:
    search: str = ""
    source: str = ""
    owner_id: int | None = None


def prospect_list(viewer: User, filters: ProspectFilters) -> Select[Prospect]:
    query = (
        select(Prospect)
        .where(permissions.prospect_condition(viewer))
        .options(selectinload(Prospect.owner))
        .order_by(Prospect.stage_changed_at.desc(), Prospect.id.desc())
    )
    if filters.search.strip():
        text = f"%{filters.search.strip().lower()}%"
        query = query.where(
            or_(func.lower(Prospect.name).like(text), func.lower(Prospect.contact_name).like(text))
        )
    if filters.source in PROSPECT_SOURCES:
        query = query.where(Prospect.source == filters.source)
    if filters.owner_id is not None:
        query = query.where(Prospect.owner_id == filters.owner_id)
    return query


def board(
    viewer: User, filters: ProspectFilters, per_stage: int = 50
) -> dict[str, tuple[int, list[Prospect]]]:
    """Stage by stage (in order): how many prospects, and the latest moved of them."""
    counts = dict(
        db.session.execute(
            prospect_list(viewer, filters)
            .with_only_columns(Prospect.stage, func.count())
            .group_by(Prospect.stage)
            .order_by(None)
        ).all()
    )
    # One short read per stage that has any: a constant number of statements, however long the history.
    return {
        stage: (
            counts.get(stage, 0),
            list(
                db.session.scalars(
                    prospect_list(viewer, filters).where(Prospect.stage == stage).limit(per_stage)
                )
            )
            if counts.get(stage)
            else [],
        )
        for stage in PROSPECT_STAGES
    }


def sales_people() -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(User.active, User.role.in_(("agent", "lead")), User.departments.any(code="sales"))
            .order_by(User.full_name)
        )
    )
