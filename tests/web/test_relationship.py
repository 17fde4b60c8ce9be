"""Relationship maintenance on screen: the return-visit list (overdue first) matching the contact logs,
the staff account page, recording contacts, follow-ups, and the admin's cadence and survey templates."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import ContactLog, FollowUpTask, ReturnVisitCadence, SurveyQuestion, SurveyTemplate
from portal.services.reference_data import ensure_reference_data
from portal.timeutil import today_in
from tests.factories import make_account, make_contract, make_request, make_user


@pytest.fixture(autouse=True)
def _reference_data():
    ensure_reference_data()


@pytest.fixture
def book():
    manager = make_user("agent", departments=["sales"], full_name="Sales Sun")
    today = today_in("Asia/Shanghai")
    late = make_account(tier="strategic", account_manager=manager, name="迟到银行", name_en="Late Bank")
    fine = make_account(tier="ordinary", account_manager=manager, name="准时制造", name_en="OnTime Mfg")
    someone_elses = make_account(tier="key", name="别人的客户", name_en="Not Mine")
    db.session.add_all(
        [
            ContactLog(account_id=late.id, kind="call", contacted_on=today - timedelta(days=50)),
            ContactLog(account_id=fine.id, kind="visit", contacted_on=today - timedelta(days=10)),
            ContactLog(account_id=someone_elses.id, kind="call", contacted_on=today - timedelta(days=200)),
        ]
    )
    db.session.commit()
    return manager, late, fine, someone_elses, today


def test_the_due_list_puts_overdue_first_and_matches_the_contact_logs(client, login_as, book):
    manager, late, fine, someone_elses, today = book
    login_as(manager)
    page = client.get("/staff/accounts", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert page.index("Late Bank") < page.index("OnTime Mfg") and "Not Mine" not in page
    late_row = page[page.index("Late Bank") : page.index("OnTime Mfg")]
    assert "Overdue" in late_row and "On track" not in late_row
    assert "On track" in page[page.index("OnTime Mfg") :]


def test_a_sales_lead_and_a_manager_see_every_account(client, login_as, book):
    login_as("lead", departments=["sales"])
    page = client.get("/staff/accounts", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert all(name in page for name in ("Late Bank", "OnTime Mfg", "Not Mine"))


@pytest.mark.parametrize("role", ["customer", "customer_admin", "finance"])
def test_customers_and_finance_are_kept_out(client, login_as, book, role):
    manager, late, *_ = book
    login_as(role)
    assert client.get("/staff/accounts").status_code == 403
    assert client.get(f"/staff/accounts/{late.id}").status_code == 403


def test_the_account_page_and_recording_a_contact(client, login_as, book):
    manager, late, fine, someone_elses, today = book
    customer = make_user("customer", account=late)
    make_contract(late, number="LB-2026-1")
    make_request(customer, title="Vault alarm keeps ringing")
    login_as(manager)
    path = f"/staff/accounts/{late.id}"
    page = client.get(path, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert all(
        text in page
        for text in ("Late Bank", "Strategic partner", "LB-2026-1", "Vault alarm keeps ringing", "Overdue")
    )
    assert client.get("/staff/accounts/999999").status_code == 404

    future = client.post_form(
        f"{path}/contacts",
        token_from=path,
        data={"kind": "visit", "contacted_on": (today + timedelta(days=3)).isoformat()},
        headers={"Accept-Language": "en"},
    )
    assert future.status_code == 422 and "cannot be in the future" in future.get_data(as_text=True)
    assert (
        db.session.scalar(
            select(ContactLog).where(ContactLog.account_id == late.id, ContactLog.kind == "visit")
        )
        is None
    )
    backwards = client.post_form(
        f"{path}/contacts",
        token_from=path,
        data={
            "kind": "visit",
            "contacted_on": today.isoformat(),
            "next_planned_on": (today - timedelta(days=1)).isoformat(),
        },
    )
    assert backwards.status_code == 422
    saved = client.post_form(
        f"{path}/contacts",
        token_from=path,
        data={
            "kind": "visit",
            "contacted_on": today.isoformat(),
            "participants": "CIO Wu",
            "notes": "Renewal talk",
        },
    )
    assert saved.status_code == 303
    page = client.get(path, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Renewal talk" in page and "CIO Wu" in page and "On track" in page
    listing = client.get("/staff/accounts", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Overdue" not in listing[listing.index("Late Bank") :]


def test_a_follow_up_is_listed_and_closed_by_its_owner_only(client, login_as, book):
    manager, late, *_ = book
    task = FollowUpTask(
        account_id=late.id, owner_id=manager.id, reason="low_csat", note="Rated 1: slow", due_on=date.today()
    )
    db.session.add(task)
    db.session.commit()
    login_as("agent", departments=["sales"])
    assert (
        client.post_form(f"/staff/follow-ups/{task.id}/done", token_from="/staff/accounts").status_code == 404
    )
    client.post_form("/logout", token_from="/staff/accounts")
    login_as(manager)
    page = client.get("/staff/accounts", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Rated 1: slow" in page and "Low satisfaction rating" in page
    response = client.post_form(
        f"/staff/follow-ups/{task.id}/done",
        token_from=f"/staff/accounts/{late.id}",
        data={"note": "Called the CIO"},
    )
    assert response.status_code == 303
    db.session.expire_all()
    done = db.session.get(FollowUpTask, task.id)
    assert done.done_at is not None and "Called the CIO" in done.note


def test_the_admin_sets_the_cadence_all_or_nothing(client, login_as):
    login_as("admin")
    bad = client.post_form(
        "/admin/cadence", token_from="/admin/surveys", data={"strategic": "2", "key": "30", "ordinary": "6"}
    )
    assert bad.status_code == 422
    assert db.session.get(ReturnVisitCadence, "strategic").months == 1
    good = client.post_form(
        "/admin/cadence", token_from="/admin/surveys", data={"strategic": "2", "key": "4", "ordinary": "6"}
    )
    assert good.status_code == 303
    db.session.expire_all()
    assert {c.tier: c.months for c in db.session.scalars(select(ReturnVisitCadence))} == {
        "strategic": 2,
        "key": 4,
        "ordinary": 6,
    }


def test_the_admin_edits_survey_templates(client, login_as):
    login_as("admin")
    page = client.get("/admin/surveys", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Service satisfaction survey" in page and "Relationship survey" in page
    csat = db.session.scalar(select(SurveyTemplate).where(SurveyTemplate.code == "csat_default"))
    path = f"/admin/surveys/{csat.id}"
    rating = next(q for q in csat.questions if q.kind == "rating")
    form = {"name_zh": csat.name_zh, "name_en": csat.name_en, "active": "y"}
    for q in csat.questions:
        form.update({f"q{q.id}_zh": q.text_zh, f"q{q.id}_en": q.text_en, f"q{q.id}_required": "y"})
    emptied = client.post_form(path, token_from=path, data={**form, f"q{rating.id}_en": " "})
    assert emptied.status_code == 422
    assert (
        client.post_form(
            path, token_from=path, data={**form, f"q{rating.id}_en": "Overall, how did we do?"}
        ).status_code
        == 303
    )
    db.session.expire_all()
    assert db.session.get(SurveyQuestion, rating.id).text_en == "Overall, how did we do?"
    switched_off = client.post_form(
        path, token_from=path, data={k: v for k, v in form.items() if k != "active"}
    )
    assert switched_off.status_code == 422  # one template of each kind stays on

    new = client.post_form(
        "/admin/surveys",
        token_from="/admin/surveys",
        data={"kind": "csat", "code": "csat_short", "name_zh": "简短调查", "name_en": "Short survey"},
    )
    assert new.status_code == 303
    short = db.session.scalar(select(SurveyTemplate).where(SurveyTemplate.code == "csat_short"))
    added = client.post_form(
        f"/admin/surveys/{short.id}/questions",
        token_from=f"/admin/surveys/{short.id}",
        data={
            "kind": "rating",
            "code": "rating",
            "text_zh": "满意吗？",
            "text_en": "Happy?",
            "required": "y",
        },
    )
    assert added.status_code == 303
    on = client.post_form(
        f"/admin/surveys/{short.id}",
        token_from=f"/admin/surveys/{short.id}",
        data={"name_zh": "简短调查", "name_en": "Short survey", "active": "y"},
    )
    assert on.status_code == 303
    db.session.expire_all()
    active = db.session.scalars(
        select(SurveyTemplate.code).where(SurveyTemplate.kind == "csat", SurveyTemplate.active)
    ).all()
    assert active == ["csat_short"]
    assert "简短调查" in client.get("/admin/surveys").get_data(as_text=True)
