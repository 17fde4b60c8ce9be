"""The schema keeps the domain's rules even when code forgets them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from portal.extensions import db
from portal.models import (
    Contract,
    Entitlement,
    ServiceRequest,
    SlaPolicy,
    SurveyInvitation,
    SurveyTemplate,
    TimelineEvent,
    User,
)
from portal.services.reference_data import ensure_reference_data
from portal.services.requests.references import next_reference
from tests.factories import make_account, make_contract, make_request, make_user


def _fails_to_commit(obj: object) -> None:
    db.session.add(obj)
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_customer_needs_an_account_and_staff_must_not_have_one():
    account = make_account()
    _fails_to_commit(User(email="c@example.com", full_name="C", role="customer", password_hash="x"))
    _fails_to_commit(
        User(email="s@example.com", full_name="S", role="agent", password_hash="x", account=account)
    )


def test_unknown_role_and_uppercase_email_are_refused():
    _fails_to_commit(User(email="x@example.com", full_name="X", role="superuser", password_hash="x"))
    _fails_to_commit(User(email="Upper@example.com", full_name="X", role="agent", password_hash="x"))


def test_email_is_unique():
    make_user("agent", email="same@example.com")
    _fails_to_commit(User(email="same@example.com", full_name="X", role="agent", password_hash="x"))


def test_subtype_must_belong_to_its_category():
    customer = make_user("customer")
    with pytest.raises(IntegrityError):
        make_request(customer, category="pre_sale", subtype="troubleshooting")
    db.session.rollback()


@pytest.mark.parametrize(
    "field, value", [("priority", "whenever"), ("status", "lost"), ("approval", "maybe"), ("severity", "meh")]
)
def test_request_codes_stay_in_their_vocabulary(field, value):
    customer = make_user("customer")
    with pytest.raises(IntegrityError):
        make_request(customer, **{field: value})
    db.session.rollback()


def test_contract_dates_must_be_ordered_and_entitlements_unique_per_kind():
    account = make_account()
    with pytest.raises(IntegrityError):
        make_contract(account, start_date=date(2026, 5, 1), end_date=date(2026, 4, 1))
    db.session.rollback()
    contract = make_contract(account, entitlements={})
    contract.entitlements.append(Entitlement(kind="support_hours", quantity=Decimal(10)))
    contract.entitlements.append(Entitlement(kind="support_hours", quantity=Decimal(5)))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


@pytest.mark.parametrize(
    "state, start, end, expected",
    [
        ("draft", -10, 100, "draft"),
        ("terminated", -10, 100, "terminated"),
        ("signed", -10, 100, "active"),
        ("signed", -10, 60, "expiring"),
        ("signed", -10, 0, "expiring"),
        ("signed", -100, -1, "expired"),
        ("signed", 5, 400, "draft"),
    ],
)
def test_contract_status_is_derived_from_dates(state, start, end, expected):
    today = date(2026, 11, 27)
    contract = Contract(
        state=state, start_date=today + timedelta(days=start), end_date=today + timedelta(days=end)
    )
    assert contract.status(today) == expected


def test_timeline_is_append_only():
    request = make_request(make_user("customer"))
    event = db.session.scalar(select(TimelineEvent).where(TimelineEvent.request_id == request.id))
    assert event is not None
    event.body = "rewritten"
    with pytest.raises(ValueError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    db.session.delete(event)
    with pytest.raises(ValueError, match="append-only"):
        db.session.commit()
    db.session.rollback()


def test_a_stale_update_of_a_request_is_refused(app):
    request = make_request(make_user("customer"))
    # A second, independent session plays the colleague who saved first.
    other = db.session.session_factory()  # type: ignore[attr-defined]
    try:
        theirs = other.get(ServiceRequest, request.id)
        theirs.status = "in_progress"
        other.commit()
    finally:
        other.close()
    request.status = "waiting_customer"
    with pytest.raises(StaleDataError):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(ServiceRequest, request.id).status == "in_progress"


def test_references_count_up_per_year_and_never_repeat():
    first = next_reference(2026)
    second = next_reference(2026)
    other_year = next_reference(2027)
    db.session.commit()
    assert (first, second, other_year) == ("SR-2026-000001", "SR-2026-000002", "SR-2027-000001")


def test_datetimes_come_back_aware_in_utc():
    moment = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    request = make_request(make_user("customer"), created_at=moment)
    db.session.expire_all()
    assert db.session.get(ServiceRequest, request.id).created_at == moment
    with pytest.raises(Exception, match="naive"):
        make_request(make_user("customer"), created_at=datetime(2026, 3, 1, 9, 30))
    db.session.rollback()


def test_reference_data_is_idempotent_and_has_the_policy_sla_targets():
    ensure_reference_data()
    ensure_reference_data()
    policies = {
        (p.tier, p.priority): (p.first_response_minutes, p.resolution_minutes)
        for p in db.session.scalars(select(SlaPolicy))
    }
    assert len(policies) == 12
    assert policies[("strategic", "urgent")] == (60, 480)
    assert policies[("strategic", "low")] == (480, 2400)
    assert policies[("key", "high")] == (240, 1920)
    assert policies[("ordinary", "normal")] == (720, 4320)


def test_one_relationship_survey_per_contact_per_quarter():
    ensure_reference_data()
    customer = make_user("customer")
    template = db.session.scalar(select(SurveyTemplate).where(SurveyTemplate.kind == "relationship"))
    now = datetime(2026, 10, 5, tzinfo=UTC)

    def invitation(token: str) -> SurveyInvitation:
        return SurveyInvitation(
            template=template,
            user=customer,
            account=customer.account,
            period="2026Q4",
            token=token,
            created_at=now,
            expires_at=now + timedelta(days=30),
        )

    db.session.add(invitation("a" * 20))
    db.session.commit()
    _fails_to_commit(invitation("b" * 20))
