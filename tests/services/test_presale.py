"""Pre-sale requests on a potential key account (policy chapter 3): filed by its sales owner, routed and
timed as a key account's request, read by those who work it and by the owner — never by a customer — and
refused, with every problem at once and nothing written, when the rules are not met."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal import permissions
from portal.extensions import db
from portal.models import Attachment, Department, Notification, Prospect, ServiceRequest, TimelineEvent
from portal.services.errors import InvalidInput, NotAllowed
from portal.services.reference_data import ensure_reference_data
from portal.services.requests import attachments, intake, sla, workflow
from portal.services.requests.workflow import NewRequest
from portal.uploads import file_store
from tests.factories import make_account, make_request, make_user

MONDAY_9 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
TODAY = date(2026, 11, 23)


@pytest.fixture(autouse=True)
def _reference_data():
    ensure_reference_data()


@pytest.fixture
def owner():
    return make_user("agent", departments=["sales"], full_name="Sales Sun")


@pytest.fixture
def prospect(owner):
    found = Prospect(
        name="Orion Logistics",
        industry="energy",
        size="large",
        source="referral",
        stage="first_contact",
        owner_id=owner.id,
    )
    db.session.add(found)
    db.session.commit()
    return found


def _design(**changes) -> NewRequest:
    values = {
        "category": "pre_sale",
        "subtype": "solution_design",
        "title": "Monitoring for 40 substations",
        "description": "They want a proposal for remote monitoring.",
        "priority": "high",
        "details": {"project_background": "Grid upgrade 2027", "budget_range": "2–3 M CNY"},
    }
    return NewRequest(**{**values, **changes})


def _file(prospect, requester, new=None, uploads=(), **keys):
    return intake.file_presale_request(
        prospect,
        requester,
        new or _design(),
        list(uploads),
        today=TODAY,
        files=file_store(),
        max_bytes=1_000_000,
        now=MONDAY_9,
        **keys,
    )


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(ServiceRequest)) or 0


def test_the_owner_asks_technical_support_for_a_solution_design(prospect, owner):
    support = make_user("agent", departments=["tech_support"], full_name="Tech Tang")
    filed = _file(prospect, owner)
    assert (filed.account_id, filed.prospect_id, filed.requester_id) == (None, prospect.id, owner.id)
    assert db.session.get(Department, filed.department_id).code == "tech_support"
    assert filed.contract_id is None and not filed.shared_with_account and not filed.over_entitlement
    # Timed as a key account's request of that priority.
    key = sla.targets_for("key", "high")
    assert filed.first_response_target_minutes == key.first_response_minutes
    assert filed.resolution_target_minutes == key.resolution_minutes
    assert filed.first_response_due_at is not None and filed.first_response_due_at > MONDAY_9
    kinds = db.session.scalars(select(TimelineEvent.kind).where(TimelineEvent.request_id == filed.id))
    assert list(kinds)[:2] == ["created", "routed"]
    told = db.session.scalars(select(Notification.kind).where(Notification.user_id == support.id)).all()
    assert "new_request" in told
    assert filed.party_name("en") == "Orion Logistics" and filed.tier == "key" and filed.industry == "energy"
    assert intake.of_prospect(prospect) == [filed]


def test_a_quotation_goes_to_sales_and_its_files_are_kept(prospect, owner, store):
    filed = _file(
        prospect,
        owner,
        _design(subtype="quotation", priority="normal"),
        [attachments.Upload("site-list.txt", b"substation 1\nsubstation 2\n")],
    )
    assert db.session.get(Department, filed.department_id).code == "sales"
    kept = db.session.scalars(select(Attachment).where(Attachment.request_id == filed.id)).all()
    assert [(a.original_name, a.account_id) for a in kept] == [("site-list.txt", None)]
    assert store.read(kept[0]) == b"substation 1\nsubstation 2\n"


def test_every_problem_at_once_and_nothing_written(prospect, owner):
    before = _count()
    with pytest.raises(InvalidInput) as refused:
        _file(
            prospect,
            owner,
            _design(details={}),
            [attachments.Upload("run.exe", b"MZ\x90\x00 not a document")],
        )
    assert {"project_background", "files"} <= set(refused.value.errors)
    with pytest.raises(InvalidInput) as refused:
        _file(prospect, owner, _design(category="on_site", subtype="installation"))
    assert "subtype" in refused.value.errors
    db.session.rollback()
    assert _count() == before


@pytest.mark.parametrize(
    "who", ["marketing agent", "another sales agent", "technical support agent", "customer"]
)
def test_only_the_owner_and_sales_leads_ask_for_pre_sale_work(prospect, who):
    user = {
        "marketing agent": lambda: make_user("agent", departments=["marketing"]),
        "another sales agent": lambda: make_user("agent", departments=["sales"]),
        "technical support agent": lambda: make_user("agent", departments=["tech_support"]),
        "customer": lambda: make_user("customer", account=make_account()),
    }[who]()
    with pytest.raises(NotAllowed):
        _file(prospect, user)
    db.session.rollback()
    assert _count() == 0


def test_a_sales_lead_may_and_a_closed_prospect_may_not(prospect, owner):
    lead = make_user("lead", departments=["sales"])
    assert _file(prospect, lead).requester_id == lead.id
    prospect.stage = "lost"
    db.session.commit()
    with pytest.raises(NotAllowed):
        _file(prospect, owner)


def test_who_reads_a_prospects_request(prospect, owner):
    filed = _file(prospect, owner)
    db.session.commit()
    readers = {
        "its owner": (owner, True),
        "technical support (its department)": (make_user("agent", departments=["tech_support"]), True),
        "a sales lead who did not file it": (make_user("lead", departments=["sales"]), False),
        "after-sales": (make_user("agent", departments=["after_sales"]), False),
        "a manager": (make_user("manager"), True),
        "finance": (make_user("finance"), False),
        "a customer": (make_user("customer", account=make_account()), False),
        "a customer administrator": (make_user("customer_admin", account=make_account()), False),
    }
    for relation, (user, sees) in readers.items():
        listed = db.session.scalar(
            select(func.count()).where(ServiceRequest.id == filed.id, permissions.request_condition(user))
        )
        assert permissions.can_view_request(user, filed) is sees, relation
        assert bool(listed) is sees, relation


def test_only_pre_sale_may_go_without_an_account(prospect, owner):
    with pytest.raises(InvalidInput):
        workflow.submit_request(prospect, owner, _design(category="after_sale", subtype="warranty"))
    db.session.rollback()
    customer = make_user("customer", account=make_account())
    request = make_request(customer)
    request.account_id = None
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_technical_support_is_told_whom_it_is_for(prospect, owner):
    support = make_user("agent", departments=["tech_support"])
    _file(prospect, owner)
    notice = db.session.scalar(select(Notification).where(Notification.user_id == support.id))
    assert notice.kind == "new_request" and notice.data["account"] == "Orion Logistics"
