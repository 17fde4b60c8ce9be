"""The KPI computation against figures worked out by hand on a small fixed data set (November 2026,
Asia/Shanghai)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import ContactLog, Deliverable, SurveyAnswer, SurveyInvitation, SurveyTemplate
from portal.services.errors import InvalidInput
from portal.services.reference_data import ensure_reference_data
from portal.services.reporting import kpi
from tests.factories import department, make_account, make_request, make_user


def at(day: int, month: int = 11, hour: int = 4) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)  # 12:00 in Shanghai


NOVEMBER = kpi.Scope(start=date(2026, 11, 1), end=date(2026, 11, 30))


def _attachment(request):
    from portal.models import Attachment

    attachment = Attachment(
        request_id=request.id,
        account_id=request.account_id,
        original_name="r.pdf",
        stored_name=f"{request.id:032d}",
        size_bytes=1,
        sha256="0" * 64,
        content_type="application/pdf",
    )
    db.session.add(attachment)
    db.session.flush()
    return attachment


def _invite(template, user, request=None, created=None, answered=None, scores=None, period=None):
    invitation = SurveyInvitation(
        template_id=template.id,
        user_id=user.id,
        account_id=user.account_id,
        request_id=request.id if request else None,
        period=period,
        token=f"t{user.id}-{request.id if request else period}",
        created_at=created,
        expires_at=created + timedelta(days=30),
        answered_at=answered,
    )
    db.session.add(invitation)
    db.session.flush()
    for question in template.questions:
        if answered and question.kind in (scores or {}):
            db.session.add(
                SurveyAnswer(
                    invitation_id=invitation.id, question_id=question.id, score=scores[question.kind]
                )
            )


@pytest.fixture
def world():
    ensure_reference_data()
    manager = make_user("agent", departments=["sales"])
    a = make_account(
        name="甲银行", industry="finance", size="large", tier="strategic", account_manager=manager
    )
    b = make_account(name="乙能源", industry="energy", size="medium", tier="key", account_manager=manager)
    ua, ub = make_user("customer", account=a), make_user("customer", account=b)
    after_sales, marketing = department("after_sales").id, department("marketing").id

    def req(user, **values):
        return make_request(user, department_id=after_sales, status="resolved", **values)

    r1 = req(
        ua,
        created_at=at(1),
        first_responded_at=at(2),
        first_response_due_at=at(3),
        resolved_at=at(5),
        resolution_due_at=at(6),
        first_response_business_minutes=60,
        resolution_business_minutes=600,
    )
    r2 = req(
        ua,
        created_at=at(7),
        first_responded_at=at(9),
        first_response_due_at=at(8),
        resolved_at=at(10),
        resolution_due_at=at(8),
        first_response_business_minutes=300,
        resolution_business_minutes=1200,
        reopen_count=1,
    )
    req(
        ua,
        created_at=at(18, 10),
        first_responded_at=at(19, 10),
        first_response_due_at=at(20, 10),
        resolved_at=at(20, 10),
        resolution_due_at=at(25, 10),
        first_response_business_minutes=5,
        resolution_business_minutes=5,
    )
    r6 = req(
        ub,
        created_at=at(13),
        first_responded_at=at(14),
        first_response_due_at=at(14, hour=6),
        resolved_at=at(15),
        resolution_due_at=at(16),
        first_response_business_minutes=120,
        resolution_business_minutes=480,
    )
    r4 = make_request(
        ua,
        category="value_added",
        subtype="custom_report",
        department_id=marketing,
        status="in_progress",
        wanted_by=date(2026, 11, 15),
        created_at=at(3),
    )
    r5 = make_request(
        ua,
        category="value_added",
        subtype="market_analysis",
        department_id=marketing,
        status="resolved",
        wanted_by=date(2026, 11, 18),
        created_at=at(4),
    )
    db.session.add(
        Deliverable(request_id=r4.id, attachment_id=_attachment(r4).id, title="R4", published_at=at(12))
    )
    db.session.add(
        Deliverable(request_id=r5.id, attachment_id=_attachment(r5).id, title="R5", published_at=at(20))
    )

    csat = db.session.scalar(select(SurveyTemplate).where(SurveyTemplate.code == "csat_default"))
    rel = db.session.scalar(select(SurveyTemplate).where(SurveyTemplate.code == "relationship_default"))
    _invite(csat, ua, r1, created=at(5), answered=at(6), scores={"rating": 5, "yes_no": 1})
    _invite(csat, ua, r2, created=at(10), answered=at(11), scores={"rating": 2, "yes_no": 0})
    _invite(csat, ub, r6, created=at(15), answered=at(16), scores={"rating": 4, "yes_no": 1})
    _invite(csat, ua, r5, created=at(21))  # not answered
    _invite(rel, ua, created=at(2), answered=at(3), scores={"nps": 9, "rating": 4}, period="2026Q4")
    _invite(rel, ub, created=at(2), answered=at(4), scores={"nps": 6, "rating": 3}, period="2026Q4")
    db.session.add_all(
        [
            ContactLog(account_id=a.id, kind="visit", contacted_on=date(2026, 11, 10)),
            ContactLog(account_id=b.id, kind="call", contacted_on=date(2026, 7, 1)),
        ]
    )
    db.session.commit()
    return a, b


def test_the_company_in_november(world):
    found = kpi.assess(NOVEMBER)
    # Satisfaction: CSAT 5, 2, 4 (the relationship survey's topic ratings are not CSAT); NPS one promoter
    # (9), one detractor (6); 6 invitations in November, 5 answered.
    assert found.csat_mean == pytest.approx(11 / 3) and found.csat_answers == 3
    assert (found.nps, found.nps_answers) == (0, 2)
    assert (found.invitations, found.answered) == (6, 5)
    # Quality: r1, r2, r6 resolved in November (r5 was resolved with no time set; the October one is out).
    assert (found.resolved, found.within_sla, found.reopened) == (3, 2, 1)
    # Efficiency: first responses 60, 300, 120 → median 120; resolutions 600, 1200, 480 → 600.
    assert (found.first_responses, found.first_response_within_target) == (3, 2)
    assert found.median_first_response_minutes == 120 and found.median_resolution_minutes == 600
    # Relationship: 1 contact; expected 30/30.4375 months ÷ 1 (strategic) + ÷ 3 (key) = 1.31; B overdue.
    assert found.contacts == 1 and found.contacts_expected == pytest.approx(1.31, abs=0.01)
    assert (found.accounts, found.accounts_overdue) == (2, 1)
    # Value-added: r4 delivered 12 Nov for 15 Nov (on time), r5 on 20 Nov for 18 Nov (late).
    assert (found.delivered, found.delivered_on_time) == (2, 1)
    # Scores 0–100 and the equal-weight composite.
    assert found.scores == {
        "satisfaction": pytest.approx(66.7, abs=0.05),
        "quality": pytest.approx(66.7, abs=0.05),
        "efficiency": pytest.approx(66.7, abs=0.05),
        "relationship": pytest.approx(76.3, abs=0.05),
        "value_added": 50.0,
    }
    assert found.composite == pytest.approx((66.7 * 3 + 76.3 + 50) / 5, abs=0.1)


def test_one_account_its_cohort_and_a_department(world):
    a, b = world
    only_a = kpi.assess(kpi.Scope(NOVEMBER.start, NOVEMBER.end, account_id=a.id))
    assert (only_a.resolved, only_a.within_sla, only_a.reopened) == (2, 1, 1)
    assert only_a.median_first_response_minutes == 180  # (60 + 300) / 2
    assert only_a.csat_mean == pytest.approx(3.5) and only_a.nps == 100
    assert (only_a.accounts, only_a.accounts_overdue) == (1, 0)
    cohort = kpi.assess(NOVEMBER.cohort(a))
    assert cohort.resolved == only_a.resolved  # A is alone among large strategic finance accounts
    after_sales = kpi.assess(
        kpi.Scope(NOVEMBER.start, NOVEMBER.end, department_id=department("after_sales").id)
    )
    assert after_sales.resolved == 3 and after_sales.delivered == 0


def test_weights_change_the_composite_only(world):
    manager = make_user("manager")
    kpi.set_weights(
        manager, {"satisfaction": 0, "quality": 1, "efficiency": 0, "relationship": 0, "value_added": 0}
    )
    found = kpi.assess(NOVEMBER)
    assert found.composite == pytest.approx(66.7, abs=0.05) and found.resolved == 3
    with pytest.raises(InvalidInput):
        kpi.set_weights(
            manager, {"satisfaction": 0, "quality": 0, "efficiency": 0, "relationship": 0, "value_added": 0}
        )


@pytest.mark.parametrize(
    "measure, expected",
    [
        ("resolved", 3),
        ("missed_sla", 1),
        ("reopened", 1),
        ("first_responses", 3),
        ("late_first_response", 1),
        ("delivered", 2),
        ("delivered_late", 1),
        ("rated", 3),
        ("low_rating", 1),
    ],
)
def test_every_number_drills_down_to_the_requests_it_counts(world, measure, expected):
    rows = db.session.scalars(kpi.requests_behind(NOVEMBER, measure)).all()
    assert len(rows) == expected


def test_the_monthly_trend_ends_with_the_period(world):
    trend = kpi.monthly_trend(NOVEMBER, months=3)
    assert [start for start, _ in trend] == [date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)]
    assert trend[-1][1].resolved == 3 and trend[1][1].resolved == 1


def test_many_periods_at_once_are_each_what_it_is_alone(world, count_queries):
    """Overlapping periods (a quarter, its months, a single day, a fortnight across months) assessed together
    — in the statements one period takes — give what each gives alone."""
    a, _b = world
    periods = [
        kpi.Scope(date(2026, 9, 1), date(2026, 11, 30)),
        kpi.Scope(date(2026, 10, 1), date(2026, 10, 31)),
        NOVEMBER,
        kpi.Scope(date(2026, 11, 12), date(2026, 11, 12)),
        kpi.Scope(date(2026, 10, 25), date(2026, 11, 8)),
    ]
    for scope in (None, a.id):
        chosen = [replace(p, account_id=scope) for p in periods]
        alone = [kpi.assess(p, medians=False) for p in chosen]
        with count_queries() as one:
            kpi.assess(chosen[0], medians=False)
        with count_queries() as together:
            assessed = kpi.assess_periods(chosen, medians=False)
        assert assessed == alone
        assert together.n == one.n
    assert any(found.resolved for found in alone) and any(found.csat_answers for found in alone)


def test_durations_of_older_requests_are_measured_once(app):
    ensure_reference_data()
    customer = make_user("customer")
    # Monday 23 Nov 2026 09:00 → 11:30 Shanghai is 150 business minutes; resolved Tuesday 10:00 is
    # 9 h Monday + 1 h Tuesday = 600, less 60 minutes waiting for the customer.
    old = make_request(
        customer,
        created_at=datetime(2026, 11, 23, 1, 0, tzinfo=UTC),
        first_responded_at=datetime(2026, 11, 23, 3, 30, tzinfo=UTC),
        resolved_at=datetime(2026, 11, 24, 2, 0, tzinfo=UTC),
        sla_paused_minutes=60,
        status="resolved",
    )
    untouched = make_request(customer, status="open")
    assert kpi.backfill_durations(batch=1) == 1
    db.session.expire_all()
    measured = db.session.get(type(old), old.id)
    assert (measured.first_response_business_minutes, measured.resolution_business_minutes) == (150, 540)
    assert db.session.get(type(old), untouched.id).first_response_business_minutes is None
    assert kpi.backfill_durations() == 0
    runner = app.test_cli_runner()
    assert runner.invoke(args=["init-data"]).exit_code == 0
