"""seed-demo: the demo company of DESIGN.md §11, the same for the same seed."""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.demo.company import request_plans, seed_demo
from portal.extensions import db
from portal.models import (
    Account,
    Base,
    Contract,
    Deliverable,
    Department,
    FollowUpTask,
    ServiceRequest,
    SurveyInvitation,
    TimeEntry,
    TimelineEvent,
    User,
)
from portal.models.requests import STATUSES
from portal.services.engagement import relationship
from portal.services.identity.auth import password_matches
from portal.services.storage import FileStore
from portal.uploads import file_store
from tests.conftest import DEMO_SEED, demo_day

TODAY = date(2026, 11, 27)
LOGINS = {
    "li.na@huaxin-bank.example": "customer_admin",
    "zhao.lei@huaxin-bank.example": "customer",
    "wang.fang@dongfang-energy.example": "customer_admin",
    "chen.jie@jinggong-mfg.example": "customer_admin",
    "sales@portal.example": "agent",
    "support@portal.example": "agent",
    "aftersales@portal.example": "lead",
    "delivery@portal.example": "agent",
    "marketing@portal.example": "agent",
    "finance@portal.example": "finance",
    "manager@portal.example": "manager",
    "admin@portal.example": "admin",
}


def _snapshot() -> list[tuple]:
    rows = db.session.execute(
        select(
            ServiceRequest.reference,
            ServiceRequest.category,
            ServiceRequest.subtype,
            ServiceRequest.status,
            ServiceRequest.priority,
            ServiceRequest.created_at,
            Department.code,
        )
        .join(Department, Department.id == ServiceRequest.department_id)
        .order_by(ServiceRequest.reference)
    ).all()
    return [tuple(r) for r in rows]


def _empty() -> None:
    for table in reversed(Base.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()


@pytest.mark.demo_data
def test_the_demo_company_is_complete(app):
    """The demo company as seed-demo makes it (the run's one seeding, on its day)."""
    today, files = demo_day(), file_store()
    assert db.session.scalar(select(func.count(User.id))) == 12
    assert db.session.scalar(select(func.count(Account.id))) == 3
    users = {u.email: u for u in db.session.scalars(select(User))}
    assert {email: u.role for email, u in users.items()} == LOGINS
    assert password_matches(users["li.na@huaxin-bank.example"].password_hash, "demo-Portal-2026")
    huaxin = db.session.scalar(select(Account).where(Account.name == "华信银行"))
    assert (huaxin.industry, huaxin.size, huaxin.tier) == ("finance", "large", "strategic")
    assert huaxin.account_manager.email == "sales@portal.example"
    assert [d.code for d in users["aftersales@portal.example"].departments] == ["after_sales"]

    seen = set(db.session.execute(select(ServiceRequest.category, ServiceRequest.subtype)).all())
    assert len({c for c, _ in seen}) == 4
    assert len(seen) >= 12, "most subtypes appear"
    statuses = set(db.session.scalars(select(ServiceRequest.status)))
    assert statuses == set(STATUSES)
    oldest = db.session.scalar(select(func.min(ServiceRequest.created_at)))
    assert (today - oldest.date()).days > 150
    # Every request was routed and has a timeline that starts with its creation.
    assert db.session.scalar(select(func.count()).where(ServiceRequest.department_id.is_(None))) == 0
    first_events = db.session.scalars(
        select(TimelineEvent.kind).where(
            TimelineEvent.id.in_(select(func.min(TimelineEvent.id)).group_by(TimelineEvent.request_id))
        )
    ).all()
    requests = db.session.scalar(select(func.count(ServiceRequest.id)))
    assert set(first_events) == {"created"} and len(first_events) == requests

    assert db.session.scalar(select(func.count(Deliverable.id))) > 0
    for deliverable in db.session.scalars(select(Deliverable)):
        assert files.read(deliverable.attachment).startswith(b"%PDF-")
    assert db.session.scalar(select(func.count(TimeEntry.id))) > 0
    answered = db.session.scalar(select(func.count()).where(SurveyInvitation.answered_at.is_not(None)))
    unanswered = db.session.scalar(select(func.count()).where(SurveyInvitation.answered_at.is_(None)))
    assert answered > 0 and unanswered > 0

    # Exactly one account is overdue for a return visit under its tier's cadence, by the due-date rule the
    # account managers' list uses.
    overdue = [d.account.name for d in relationship.due_dates() if d.overdue(today)]
    assert overdue == ["精工制造"]

    # Each resolved request invited its requester once; low scores opened follow-ups; contracts are signed.
    resolved = db.session.scalar(
        select(func.count()).where(
            ServiceRequest.resolved_at.is_not(None), ServiceRequest.account_id.is_not(None)
        )
    )
    per_request = db.session.scalar(select(func.count()).where(SurveyInvitation.request_id.is_not(None)))
    assert per_request >= resolved > 0
    assert db.session.scalar(select(func.count(FollowUpTask.id))) > 0
    assert db.session.scalar(select(func.count()).where(Contract.signed_document_id.is_(None))) == 0


@pytest.mark.demo_data
def test_the_same_seed_gives_the_same_data(tmp_path: Path, demo_written):  # noqa: ARG001
    first = _snapshot()  # the run's one seeding
    _empty()
    seed_demo(seed=DEMO_SEED, today=demo_day(), files=FileStore("filesystem", tmp_path))
    assert _snapshot() == first


def test_another_seed_plans_another_history():
    """What the seed decides — which requests, when, in which state — without writing them all again."""
    tiers = {"huaxin": "strategic", "dongfang": "key", "jinggong": "ordinary"}
    assert request_plans(random.Random(11), tiers, TODAY) == request_plans(random.Random(11), tiers, TODAY)
    assert request_plans(random.Random(11), tiers, TODAY) != request_plans(random.Random(12), tiers, TODAY)
