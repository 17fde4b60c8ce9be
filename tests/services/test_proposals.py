"""Proposals and quotations: terms checked together, versions (sending one supersedes the earlier), an
expired offer refused, and what an acceptance makes — the prospect's account, its administrator's
invitation, and a draft contract with exactly the proposal's entitlements and total; renewals due and the
renewal proposal's pre-filled terms."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Account, Contract, Entitlement, Proposal, Prospect, User
from portal.services.errors import InvalidInput, NotAllowed
from portal.services.pipeline import proposals
from tests.factories import make_account, make_contract, make_user

TODAY = date(2026, 12, 2)
TERMS = proposals.ProposalTerms(
    title="Logistics service 2027",
    language="en",
    tier="key",
    currency="cny",
    discount_percent="10",
    valid_until=TODAY + timedelta(days=30),
    start_date=date(2027, 1, 1),
    end_date=date(2027, 12, 31),
    terms="Payment within 30 days.",
    quantities={"on_site_days": "12", "support_hours": "100"},
    prices={"on_site_days": "8000", "support_hours": "500.50"},
    per_year=frozenset({"support_hours"}),
)


def _with(**changes):
    return proposals.ProposalTerms(**{**vars(TERMS), **changes})


@pytest.fixture
def owner():
    return make_user("agent", departments=["sales"], full_name="Sales Sun")


@pytest.fixture
def prospect(owner):
    found = Prospect(
        name="Orion Logistics",
        industry="other",
        size="large",
        source="referral",
        contact_name="Ms Lin",
        contact_email="lin@orion.example",
        stage="needs_analysed",
        owner_id=owner.id,
    )
    db.session.add(found)
    db.session.commit()
    return found


def test_terms_are_checked_together_and_the_total_is_computed(owner, prospect):
    with pytest.raises(InvalidInput) as refused:
        proposals.create(
            owner,
            _with(
                title=" ",
                currency="yuan",
                discount_percent="120",
                valid_until=TODAY - timedelta(days=1),
                end_date=date(2026, 6, 1),
                quantities={"on_site_days": "0", "custom_reports": ""},
                prices={"on_site_days": "-1", "custom_reports": "300"},
            ),
            TODAY,
            prospect=prospect,
        )
    assert set(refused.value.errors) == {
        "title",
        "currency",
        "discount_percent",
        "valid_until",
        "end_date",
        "quantity_on_site_days",
        "price_on_site_days",
        "quantity_custom_reports",
    }
    assert db.session.scalar(select(func.count(Proposal.id))) == 0
    made = proposals.create(owner, TERMS, TODAY, prospect=prospect)
    assert made.number == f"QT-{TODAY.year}-{made.id:05d}" and made.currency == "CNY"
    # 12 × 8,000 + 100 × 500.50 = 146,050.00; less 10 % = 131,445.00
    assert (made.subtotal, made.discount, made.total) == (
        Decimal("146050.00"),
        Decimal("14605.00"),
        Decimal("131445.00"),
    )


def test_a_proposal_is_drafted_only_by_sales_and_tech_support(prospect):
    with pytest.raises(NotAllowed):
        proposals.create(make_user("agent", departments=["marketing"]), TERMS, TODAY, prospect=prospect)
    assert proposals.create(make_user("agent", departments=["tech_support"]), TERMS, TODAY, prospect=prospect)


def test_sending_a_revision_supersedes_the_earlier_version(owner, prospect):
    first = proposals.create(owner, TERMS, TODAY, prospect=prospect)
    proposals.send(owner, first, TODAY)
    assert (first.state, first.sent_to, prospect.stage) == ("sent", "lin@orion.example", "proposal_sent")
    with pytest.raises(proposals.NotEditable):
        proposals.update_draft(owner, first, TERMS, TODAY)
    proposals.answer(first, "changes_requested", "Fewer on-site days", TODAY, name="Ms Lin")
    second = proposals.revise(owner, first, TODAY)
    assert (second.number, second.version, second.state) == (first.number, 2, "draft")
    assert [(line.kind, line.quantity) for line in second.lines] == [
        (line.kind, line.quantity) for line in first.lines
    ]
    proposals.update_draft(
        owner, second, _with(quantities={"on_site_days": "8"}, prices={"on_site_days": "8000"}), TODAY
    )
    proposals.send(owner, second, TODAY)
    assert (first.state, second.state) == ("superseded", "sent")
    # The link names the number: it opens the latest version.
    assert proposals.proposal_for_review(proposals.review_token(first)).id == second.id
    with pytest.raises(InvalidInput):
        proposals.proposal_for_review(proposals.review_token(first) + "x")


def test_an_expired_offer_cannot_be_accepted(owner, prospect):
    made = proposals.create(owner, TERMS, TODAY, prospect=prospect)
    proposals.send(owner, made, TODAY)
    later = TERMS.valid_until + timedelta(days=1)
    with pytest.raises(InvalidInput) as refused:
        proposals.answer(made, "accepted", "", later, name="Ms Lin")
    assert TERMS.valid_until.isoformat() in refused.value.errors["answer"]
    assert made.status(later) == "expired" and db.session.scalar(select(func.count(Contract.id))) == 0
    # Asking for changes still works: that is how a new version is asked for.
    proposals.answer(made, "changes_requested", "Please renew the offer", later, name="Ms Lin")


def test_accepting_makes_the_account_its_administrator_and_the_draft_contract(owner, prospect):
    from datetime import UTC, datetime

    from portal.models import ContactLog, ProspectActivity

    for kind, day in (("first_contact", 3), ("needs_analysis", 10), ("note", 11)):
        db.session.add(
            ProspectActivity(
                prospect_id=prospect.id,
                kind=kind,
                actor_id=owner.id,
                body=f"{kind} notes",
                created_at=datetime(2026, 11, day, 2, tzinfo=UTC),
            )
        )
    db.session.commit()
    made = proposals.create(owner, TERMS, TODAY, prospect=prospect)
    proposals.send(owner, made, TODAY)
    with pytest.raises(InvalidInput) as nameless:
        proposals.answer(made, "accepted", "", TODAY, name=" ")
    assert "name" in nameless.value.errors
    contract = proposals.answer(made, "accepted", "", TODAY, name="Ms Lin")
    account = db.session.get(Account, contract.account_id)
    assert (
        account.name,
        account.tier,
        account.account_manager_id,
        account.domains,
        account.preferred_language,
    ) == (
        "Orion Logistics",
        "key",
        owner.id,
        ["orion.example"],
        "en",
    )
    admin = db.session.scalar(select(User).where(User.email == "lin@orion.example"))
    assert (admin.role, admin.account_id, admin.full_name) == ("customer_admin", account.id, "Ms Lin")
    assert (contract.state, contract.amount, contract.currency) == ("draft", Decimal("131445.00"), "CNY")
    assert (contract.start_date, contract.end_date) == (TERMS.start_date, TERMS.end_date)
    assert sorted((e.kind, e.quantity, e.period) for e in contract.entitlements) == [
        ("on_site_days", Decimal("12.00"), "contract"),
        ("support_hours", Decimal("100.00"), "year"),
    ]
    assert (prospect.stage, prospect.account_id, made.contract_id) == ("won", account.id, contract.id)
    # Its first contact and needs analysis begin the account's contact log.
    log = db.session.scalars(
        select(ContactLog).where(ContactLog.account_id == account.id).order_by(ContactLog.id)
    )
    assert [(c.kind, c.contacted_on, c.notes, c.staff_id) for c in log] == [
        ("call", date(2026, 11, 3), "first_contact notes", owner.id),
        ("meeting", date(2026, 11, 10), "needs_analysis notes", owner.id),
    ]
    # Answered once: a second answer is refused and makes nothing.
    with pytest.raises(InvalidInput):
        proposals.answer(made, "accepted", "", TODAY, name="Ms Lin")
    assert db.session.scalar(select(func.count(Contract.id))) == 1


def test_an_account_proposal_is_answered_by_its_administrator_only(owner):
    account = make_account(account_manager_id=owner.id)
    administrator = make_user("customer_admin", account=account)
    colleague = make_user("customer", account=account)
    made = proposals.create(owner, TERMS, TODAY, account=account)
    proposals.send(owner, made, TODAY)
    assert made.sent_to == administrator.email
    for refused in (colleague, make_user("customer_admin", account=make_account())):
        with pytest.raises(NotAllowed):
            proposals.answer(made, "accepted", "", TODAY, by=refused)
    with pytest.raises(NotAllowed):  # no link answers an account's proposal
        proposals.answer(made, "accepted", "", TODAY, name="Someone")
    contract = proposals.answer(made, "accepted", "", TODAY, by=administrator)
    assert contract.account_id == account.id and made.answered_by_id == administrator.id


def test_renewals_due_and_the_renewal_terms(owner):
    account = make_account(account_manager_id=owner.id, preferred_language="en")
    ending = make_contract(account, start_date=date(2026, 1, 1), end_date=TODAY + timedelta(days=40))
    make_contract(account, number="LATER-1", start_date=date(2026, 1, 1), end_date=TODAY + timedelta(days=90))
    db.session.add(Entitlement(contract_id=ending.id, kind="training_sessions", quantity=Decimal("4")))
    db.session.commit()
    assert proposals.renewals_due(owner, TODAY) == [ending]
    assert proposals.renewals_due(make_user("agent", departments=["sales"]), TODAY) == []
    terms = proposals.renewal_terms(ending, TODAY)
    assert terms.start_date == ending.end_date + timedelta(days=1)
    assert terms.end_date - terms.start_date == ending.end_date - ending.start_date
    assert terms.quantities["training_sessions"] == "4.00" and terms.language == "en"
    assert terms.title == f"Renewal of {ending.number}"
    made = proposals.create(
        owner,
        _with(**{"quantities": terms.quantities, "prices": dict.fromkeys(terms.quantities, "1000")}),
        TODAY,
        account=account,
        renews=ending,
    )
    assert proposals.renewals_due(owner, TODAY) == []
    assert made.renews_id == ending.id


def test_the_funnel_counts_what_the_database_holds(owner):
    from datetime import UTC, datetime

    from portal.models import ProspectActivity
    from portal.services.reporting import funnel
    from portal.services.reporting.kpi import Scope

    start, end = date(2026, 10, 1), date(2026, 12, 31)
    inside = datetime(2026, 11, 1, 3, tzinfo=UTC)
    for n, (stage, source) in enumerate(
        [("new", "inbound"), ("lost", "inbound"), ("won", "referral"), ("proposal_sent", "trade_show")]
    ):
        db.session.add(
            Prospect(
                name=f"P{n}",
                industry="energy",
                size="large",
                source=source,
                stage=stage,
                created_at=inside,
                contact_email=f"c{n}@p{n}.example",
                owner_id=owner.id,
            )
        )
    # Recorded before the period: not counted among its prospects.
    db.session.add(
        Prospect(
            name="Old",
            industry="energy",
            size="large",
            source="other",
            created_at=datetime(2026, 1, 5, tzinfo=UTC),
        )
    )
    db.session.commit()
    won = db.session.scalar(select(Prospect).where(Prospect.name == "P3"))
    won.stage = "needs_analysed"
    db.session.add(
        ProspectActivity(
            prospect_id=won.id, kind="first_contact", created_at=datetime(2026, 10, 2, tzinfo=UTC)
        )
    )
    db.session.commit()
    made = proposals.create(owner, TERMS, TODAY, prospect=won)
    proposals.send(owner, made, TODAY)
    contract = proposals.answer(made, "accepted", "", TODAY, name="Ms P")
    contract.signed_at, contract.state = datetime(2026, 11, 11, tzinfo=UTC), "signed"  # 40 days after
    account = make_account()
    ending = make_contract(account, start_date=date(2025, 12, 1), end_date=date(2026, 11, 30))
    make_contract(account, start_date=date(2026, 12, 1), end_date=date(2027, 11, 30), renews_id=ending.id)
    make_contract(account, start_date=date(2025, 12, 15), end_date=date(2026, 12, 14))
    db.session.commit()

    found = funnel.assess(Scope(start=start, end=end, zone="UTC"))
    assert found.recorded == 4 and found.by_stage["won"] == 2 and found.by_stage["new"] == 1
    assert found.by_source == {"trade_show": 1, "referral": 1, "inbound": 2, "other": 0}
    assert (found.won, found.conversion) == (2, 0.5)
    assert (found.signed, found.median_days_to_signature) == (1, 40.0)
    assert found.answers == {"accepted": 1, "changes_requested": 0, "declined": 0}
    assert (found.renewals_due, found.renewed) == (2, 1)
    scope = Scope(start=start, end=end, zone="UTC")
    for measure, count in (
        ("recorded", 4),
        ("won", 2),
        ("signed", 1),
        ("accepted", 1),
        ("renewals_due", 2),
        ("renewed", 1),
    ):
        assert len(funnel.behind(scope, measure, "en")) == count, measure
    assert [r.name for r in funnel.behind(scope, "recorded", "en", stage="new")] == ["P0"]
    # By industry: none of them is in finance.
    assert funnel.assess(Scope(start=start, end=end, zone="UTC", industry="finance")).recorded == 0
