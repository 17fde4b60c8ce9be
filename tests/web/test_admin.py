"""Admin screens: routing rules with the preview, SLA targets, the business calendar."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent, BusinessCalendar, RoutingRule, SlaPolicy
from portal.services.reference_data import ensure_reference_data
from portal.services.requests import routing, workflow
from tests.factories import department, make_user


@pytest.fixture(autouse=True)
def _reference_data():
    ensure_reference_data()


ADMIN_PAGES = ["/admin/", "/admin/routing", "/admin/sla", "/admin/calendar"]


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_admin_pages_render_and_are_for_admins_only(client, login_as, path):
    login_as("manager")
    assert client.get(path).status_code == 403
    client.post_form("/logout", token_from="/manager/")
    login_as("admin")
    assert client.get(path).status_code == 200


def test_the_preview_answers_as_a_fragment_and_says_where_a_request_goes(client, login_as):
    login_as("admin")
    tech = department("tech_support")
    query = (
        f"name=Urgent+to+tech&priority=urgent&department={tech.id}&active=y"
        "&sample_category=after_sale&sample_subtype=troubleshooting&sample_priority=urgent"
    )
    fragment = client.htmx_get(f"/admin/routing/preview?{query}", headers={"Accept-Language": "en"})
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and "After-Sales Service" in body  # appended at the end it changes nothing
    first = db.session.scalar(select(RoutingRule).order_by(RoutingRule.position))
    edit = client.htmx_get(
        f"/admin/routing/preview?{query}&rule_id={first.id}", headers={"Accept-Language": "en"}
    )
    assert "Technical Support" in edit.get_data(as_text=True) and "the rule you are editing" in edit.get_data(
        as_text=True
    )


def test_an_edited_rule_changes_where_the_next_request_goes(client, login_as):
    login_as("admin")
    first = db.session.scalar(select(RoutingRule).order_by(RoutingRule.position))
    token = client.csrf_token("/admin/routing")
    response = client.post(
        f"/admin/routing/{first.id}",
        data={
            "csrf_token": token,
            "name": "Everything urgent to tech support",
            "priority": "urgent",
            "department": str(department("tech_support").id),
            "active": "y",
        },
    )
    assert response.status_code == 303
    customer = make_user("customer")
    request = workflow.submit_request(
        customer.account,
        customer,
        workflow.NewRequest("value_added", "market_analysis", "Urgent analysis", priority="urgent"),
    )
    assert request.department.code == "tech_support"
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.action == "routing_rule.updated"))


def test_adding_moving_and_deactivating_rules(client, login_as):
    login_as("admin")
    token = client.csrf_token("/admin/routing")
    count = db.session.query(RoutingRule).count()
    bad = client.post(
        "/admin/routing",
        data={"csrf_token": token, "name": "", "department": ""},
        headers={"Accept-Language": "en"},
    )
    assert bad.status_code == 422 and "Give the rule a name." in bad.get_data(as_text=True)
    assert db.session.query(RoutingRule).count() == count
    good = client.post(
        "/admin/routing",
        data={
            "csrf_token": token,
            "name": "Energy to delivery",
            "industry": "energy",
            "department": str(department("delivery").id),
            "active": "y",
        },
    )
    assert good.status_code == 303
    rule = db.session.scalar(select(RoutingRule).where(RoutingRule.name == "Energy to delivery"))
    client.post(f"/admin/routing/{rule.id}/move", data={"csrf_token": token, "direction": "up"})
    client.post(f"/admin/routing/{rule.id}/active", data={"csrf_token": token})
    db.session.expire_all()
    rules = db.session.scalars(select(RoutingRule).order_by(RoutingRule.position)).all()
    assert rules[-2].id == rule.id and rule.active is False


def test_sla_targets_are_saved_or_refused_whole(client, login_as):
    login_as("admin")
    token = client.csrf_token("/admin/sla")
    form = {"csrf_token": token}
    for p in db.session.scalars(select(SlaPolicy)):
        form[f"first_{p.tier}_{p.priority}"] = str(p.first_response_minutes / 60)
        form[f"resolution_{p.tier}_{p.priority}"] = str(p.resolution_minutes / 60)
    form["first_strategic_urgent"] = "0.5"
    assert client.post("/admin/sla", data=form).status_code == 303
    db.session.expire_all()
    policy = db.session.scalar(
        select(SlaPolicy).where(SlaPolicy.tier == "strategic", SlaPolicy.priority == "urgent")
    )
    assert policy.first_response_minutes == 30
    form["first_key_low"] = "100"  # later than the resolution target: refused, nothing saved
    form["first_strategic_urgent"] = "0.75"
    form["resolution_ordinary_high"] = "soon"  # not a number
    form["first_ordinary_normal"] = "-1"
    response = client.post("/admin/sla", data=form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    # Every bad row is flagged at once, those that did not parse and those that break a rule.
    flagged = set(re.findall(r'<p class="error" id="err_resolution_([a-z]+_[a-z]+)"', page))
    assert flagged == {"key_low", "ordinary_high", "ordinary_normal"}
    db.session.expire_all()
    assert db.session.get(SlaPolicy, policy.id).first_response_minutes == 30


def test_the_business_calendar_and_its_exceptions(client, login_as):
    login_as("admin")
    token = client.csrf_token("/admin/calendar")
    response = client.post(
        "/admin/calendar",
        data={
            "csrf_token": token,
            "workday_start": "08:30",
            "workday_end": "17:30",
            "weekdays": ["1", "2", "3", "4", "5", "6"],
            "use_public_holidays": "y",
        },
    )
    assert response.status_code == 303
    bad = client.post(
        "/admin/calendar",
        data={"csrf_token": token, "workday_start": "18:00", "workday_end": "09:00", "weekdays": ["1"]},
    )
    assert bad.status_code == 422
    client.post(
        "/admin/calendar/exceptions",
        data={"csrf_token": token, "day": "2026-12-31", "kind": "off", "note": "Year-end"},
    )
    db.session.expire_all()
    calendar = db.session.scalar(select(BusinessCalendar))
    assert (calendar.workday_start.hour, calendar.working_weekdays) == (8, "123456")
    assert [(e.day.isoformat(), e.is_working) for e in calendar.exceptions] == [("2026-12-31", False)]
    client.post(f"/admin/calendar/exceptions/{calendar.exceptions[0].id}/delete", data={"csrf_token": token})
    db.session.expire_all()
    assert db.session.scalar(select(BusinessCalendar)).exceptions == []


def test_switching_automatic_assignment_on_for_a_department(client, login_as):
    login_as("admin")
    agent = make_user("agent", departments=["after_sales"])
    dept = department("after_sales")
    token = client.csrf_token("/admin/routing")
    assert (
        client.post(f"/admin/departments/{dept.id}/auto-assign", data={"csrf_token": token}).status_code
        == 303
    )
    customer = make_user("customer")
    request = workflow.submit_request(
        customer.account, customer, workflow.NewRequest("after_sale", "warranty", "Broken disk")
    )
    assert request.assignee_id == agent.id
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.action == "department.auto_assign"))


def test_the_requests_by_email_settings_are_shown_saved_and_refused_whole(client, login_as):
    login_as("admin")
    page = client.get("/admin/routing", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert re.search(
        r'<input[^>]*checked[^>]*name="accepts_new_requests"|name="accepts_new_requests"[^>]*checked', page
    )
    assert re.search(r'<optgroup label="After-sale service">', page)
    assert re.search(
        r'<option selected value="after_sale/technical_support">'
        r'|value="after_sale/technical_support" selected',
        page,
    )
    token = client.csrf_token("/admin/routing")
    bad = client.post(
        "/admin/routing/email",
        data={"csrf_token": token, "service": "after_sale/market_analysis", "priority": "soonish"},
        headers={"Accept-Language": "en"},
    )
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "Choose one of the services." in body and "Choose a priority." in body
    assert routing.mail_intake().accepts_new_requests is True
    assert not db.session.scalar(select(AuditEvent).where(AuditEvent.action == "mail_intake.updated"))
    good = client.post(
        "/admin/routing/email",
        data={"csrf_token": token, "service": "after_sale/troubleshooting", "priority": "high"},
    )
    assert good.status_code == 303 and good.headers["Location"].endswith("/admin/routing#email-title")
    db.session.expire_all()
    intake = routing.mail_intake()
    assert (intake.accepts_new_requests, intake.category, intake.subtype, intake.priority) == (
        False,
        "after_sale",
        "troubleshooting",
        "high",
    )
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "mail_intake.updated"))
    again = client.get("/admin/routing").get_data(as_text=True)
    assert not re.search(r'name="accepts_new_requests"[^>]*checked', again)
