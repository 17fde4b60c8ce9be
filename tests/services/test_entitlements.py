"""The entitlement ledger against figures worked out by hand."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from portal.extensions import db
from portal.models import Entitlement, ServiceRequest, TimeEntry
from portal.services.contracts.entitlements import contract_ledger, request_amount
from tests.factories import make_contract, make_request, make_user

TODAY = date(2026, 11, 27)


def _contract(customer, **entitlements):
    return make_contract(
        customer.account,
        start_date=TODAY - timedelta(days=99),
        end_date=TODAY + timedelta(days=265),
        entitlements=entitlements,
    )


def _lines(contract):
    return {line.entitlement.kind: line for line in contract_ledger(contract, TODAY)}


def test_on_site_days_reports_and_trainings_by_hand():
    customer = make_user("customer")
    contract = _contract(customer, on_site_days=20, custom_reports=4, training_sessions=2)
    on_site = dict(category="on_site", contract_id=contract.id)
    make_request(
        customer, subtype="installation", status="closed", visit_days=Decimal(3), **on_site
    )  # used 3
    make_request(customer, subtype="delivery", status="resolved", visit_days=None, **on_site)  # used 1
    make_request(
        customer, subtype="commissioning", status="scheduled", visit_days=Decimal(2), **on_site
    )  # held 2
    make_request(
        customer, subtype="commissioning", status="cancelled", visit_days=Decimal(5), **on_site
    )  # nothing
    make_request(customer, subtype="training", status="closed", **on_site)  # 1 session
    report = dict(category="value_added", contract_id=contract.id)
    make_request(customer, subtype="custom_report", status="closed", **report)  # used 1
    make_request(customer, subtype="market_analysis", status="in_progress", **report)  # held 1
    make_request(customer, subtype="custom_service", status="closed", **report)  # not a report
    make_request(
        make_user("customer"), subtype="custom_report", status="closed", category="value_added"
    )  # no contract
    lines = _lines(contract)
    days, reports, trainings = lines["on_site_days"], lines["custom_reports"], lines["training_sessions"]
    assert (days.included, days.used, days.reserved, days.remaining) == (20, 4, 2, 14)
    assert (reports.used, reports.reserved, reports.remaining) == (1, 1, 2)
    assert (trainings.used, trainings.reserved, trainings.remaining) == (1, 0, 1)
    # Trainings: 1 in 100 days -> the last one lasts 100 more days.
    # Pace: 6 days consumed in 100 days -> the 14 left last another 233 days, before the term ends.
    assert days.runs_out_on == TODAY + timedelta(days=233)
    # Reports: 2 in 100 days -> the 2 left last 100 days.
    assert reports.runs_out_on == TODAY + timedelta(days=100)
    assert trainings.runs_out_on == TODAY + timedelta(days=100)
    # Nothing used yet: no run-out date.
    quiet = _contract(make_user("customer"), on_site_days=5)
    assert _lines(quiet)["on_site_days"].runs_out_on is None


def test_training_counts_as_on_site_days_without_a_training_entitlement():
    customer = make_user("customer")
    contract = _contract(customer, on_site_days=10)
    make_request(
        customer,
        category="on_site",
        subtype="training",
        status="closed",
        visit_days=Decimal(2),
        contract_id=contract.id,
    )
    assert _lines(contract)["on_site_days"].used == 2


def test_support_hours_are_the_billable_time_logged():
    customer = make_user("customer")
    agent = make_user("agent")
    contract = _contract(customer, support_hours=100)
    request = make_request(customer, contract_id=contract.id)
    for minutes, billable in ((90, True), (45, True), (600, False)):
        db.session.add(
            TimeEntry(
                request_id=request.id,
                contract_id=contract.id,
                user_id=agent.id,
                minutes=minutes,
                billable=billable,
                work_date=TODAY,
            )
        )
    db.session.commit()
    hours = _lines(contract)["support_hours"]
    assert (hours.used, hours.remaining) == (Decimal("2.25"), Decimal("97.75"))
    assert hours.runs_out_on is None  # at 2.25 hours per 100 days the rest outlasts the contract


def test_an_exhausted_entitlement_is_over_and_runs_out_today():
    customer = make_user("customer")
    contract = _contract(customer, custom_reports=1)
    for _ in range(2):
        make_request(
            customer,
            category="value_added",
            subtype="industry_news",
            status="closed",
            contract_id=contract.id,
        )
    line = _lines(contract)["custom_reports"]
    assert line.over and line.remaining == -1 and line.runs_out_on is None  # used up: no day in the past
    assert (line.left, line.overage) == (0, 1)


def test_the_preview_rule_matches_the_ledger_rule():
    assert request_amount(ServiceRequest(category="on_site", subtype="training"), True) == (
        "training_sessions",
        1,
    )
    assert request_amount(
        ServiceRequest(category="on_site", subtype="training", visit_days=Decimal(2)), False
    ) == ("on_site_days", 2)
    assert request_amount(ServiceRequest(category="after_sale", subtype="warranty"), True) == (None, 0)
    assert Entitlement(kind="support_hours").unit == "hour"


def test_the_ledger_runs_two_queries_whatever_the_rows(count_queries):
    customer = make_user("customer")
    contract = _contract(customer, on_site_days=20, support_hours=10)
    for _ in range(10):
        make_request(
            customer, category="on_site", subtype="installation", status="closed", contract_id=contract.id
        )
    contract.entitlements  # noqa: B018  (loaded beforehand, as the pages do)
    with count_queries() as counted:
        contract_ledger(contract, TODAY)
    assert counted.n == 2


# --- entitlements counted each contract year ----------------------------------------------------------------


def test_a_contract_year_runs_from_the_start_date_and_the_last_ends_with_the_contract():
    from portal.services.contracts.entitlements import contract_year

    contract = make_contract(
        make_user("customer").account, start_date=date(2026, 3, 15), end_date=date(2028, 9, 30)
    )
    assert contract_year(contract, date(2026, 3, 15)) == (date(2026, 3, 15), date(2027, 3, 14))
    assert contract_year(contract, date(2027, 3, 14)) == (date(2026, 3, 15), date(2027, 3, 14))
    assert contract_year(contract, date(2027, 3, 15)) == (date(2027, 3, 15), date(2028, 3, 14))
    assert contract_year(contract, date(2028, 6, 1)) == (date(2028, 3, 15), date(2028, 9, 30))
    assert contract_year(contract, date(2020, 1, 1)) == (date(2026, 3, 15), date(2027, 3, 14))  # before
    assert contract_year(contract, date(2031, 1, 1)) == (date(2028, 3, 15), date(2028, 9, 30))  # after


def test_an_entitlement_by_year_counts_only_what_its_year_holds():
    from datetime import UTC, datetime

    from portal.services.contracts.entitlements import requests_beyond

    customer = make_user("customer")
    start = TODAY - timedelta(days=400)  # the second contract year began 35 days ago
    contract = make_contract(
        customer.account,
        start_date=start,
        end_date=start + timedelta(days=3 * 365),
        entitlements={"on_site_days": 4, "support_hours": 10},
    )
    by_year = next(e for e in contract.entitlements if e.kind == "on_site_days")
    by_year.period = "year"
    db.session.commit()

    def on_site(days_ago: int, visit_days: int, status: str = "closed") -> ServiceRequest:
        filed = datetime.combine(TODAY - timedelta(days=days_ago), datetime.min.time(), tzinfo=UTC)
        return make_request(
            customer,
            category="on_site",
            subtype="installation",
            contract_id=contract.id,
            status=status,
            visit_days=Decimal(visit_days),
            created_at=filed,
        )

    on_site(300, 3)
    year_one_over = on_site(200, 2)  # 5 days in the first year: 1 beyond its 4
    on_site(20, 1)
    on_site(5, 2, status="scheduled")  # held, in the second year
    worker = make_user("agent", departments=["delivery"])
    for days_ago, minutes in ((300, 240), (10, 120)):
        db.session.add(
            TimeEntry(
                request_id=year_one_over.id,
                contract_id=contract.id,
                user_id=worker.id,
                minutes=minutes,
                billable=True,
                work_date=TODAY - timedelta(days=days_ago),
            )
        )
    db.session.commit()
    lines = _lines(contract)
    days, hours = lines["on_site_days"], lines["support_hours"]
    assert (days.included, days.used, days.reserved, days.remaining) == (4, 1, 2, 1)
    assert days.year == (start + timedelta(days=365), start + timedelta(days=729))
    assert (hours.used, hours.year) == (6, None)  # over the term: both entries
    beyond = requests_beyond(contract)
    assert [(b.request.id, b.over_by) for b in beyond] == [(year_one_over.id, 1)]
