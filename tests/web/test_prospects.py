"""Potential key accounts on screen: marketing records and screens them, the sales owner works them on from
the first contact to the needs analysis, anyone who sees them adds notes; the board by stage; who sees and
who may do what (every route of the module, for every staff role)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditEvent, Prospect, ProspectActivity, ServiceRequest
from portal.services.pipeline import prospects
from portal.uploads import file_store
from tests.conftest import sign_in
from tests.factories import make_user

EN = {"Accept-Language": "en"}
GOOD = {
    "name": "Orion Logistics",
    "industry": "other",
    "size": "large",
    "source": "trade_show",
    "contact_name": "Ms Lin",
    "contact_email": "Lin@Orion.example",
}


def _post(client, path, data, token_from):
    return client.post(path, data={"csrf_token": client.csrf_token(token_from), **data}, headers=EN)


def test_a_prospect_goes_from_record_to_needs_analysed(app, client, login_as):
    marketing = login_as("agent", departments=["marketing"])
    owner = make_user("agent", departments=["sales"], full_name="Sales Sun")
    refused = _post(
        client,
        "/staff/prospects",
        {"name": "", "industry": "x", "contact_email": "no"},
        "/staff/prospects/new",
    )
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Give the company&#39;s name." in page
    assert (
        page.count("Choose one from the list.") == 3 and "Give an email address, or leave it empty." in page
    )
    assert db.session.scalar(select(func.count(Prospect.id))) == 0
    response = _post(client, "/staff/prospects", GOOD, "/staff/prospects/new")
    prospect = db.session.scalar(select(Prospect))
    assert response.headers["Location"].endswith(f"/staff/prospects/{prospect.id}")
    assert (prospect.stage, prospect.contact_email, prospect.recorded_by_id) == (
        "new",
        "lin@orion.example",
        marketing.id,
    )
    page = f"/staff/prospects/{prospect.id}"
    no_owner = _post(client, f"{page}/qualification", {"owner_id": str(marketing.id)}, page)
    assert no_owner.status_code == 422 and "Choose someone of sales." in no_owner.get_data(as_text=True)
    assert (
        _post(
            client, f"{page}/qualification", {"owner_id": str(owner.id), "note": "Hot lead"}, page
        ).status_code
        == 303
    )
    db.session.expire_all()
    assert (db.session.get(Prospect, prospect.id).stage, db.session.get(Prospect, prospect.id).owner_id) == (
        "qualified",
        owner.id,
    )
    # Marketing cannot work it on; its owner does, in order.
    assert _post(client, f"{page}/first-contact", {"notes": "x"}, page).status_code == 303
    assert db.session.get(Prospect, prospect.id).stage == "qualified"
    client.post_form("/logout", token_from="/profile")
    login_as(owner)
    early = _post(client, f"{page}/needs-analysis", {"notes": "too early"}, page)
    assert early.status_code == 422 and "the first contact comes before the needs analysis" in early.get_data(
        as_text=True
    )
    empty = _post(client, f"{page}/first-contact", {"notes": ""}, page)
    assert empty.status_code == 422 and "Say what was learnt." in empty.get_data(as_text=True)
    assert _post(client, f"{page}/first-contact", {"notes": "Called Ms Lin"}, page).status_code == 303
    assert _post(client, f"{page}/needs-analysis", {"notes": "12 depots, SLA 4 h"}, page).status_code == 303
    assert _post(client, f"{page}/notes", {"body": "Budget in Q2"}, page).status_code == 303
    db.session.expire_all()
    done = db.session.get(Prospect, prospect.id)
    assert done.stage == "needs_analysed"
    kinds = [a.kind for a in db.session.scalars(select(ProspectActivity).order_by(ProspectActivity.id))]
    assert kinds == ["recorded", "qualified", "first_contact", "needs_analysis", "note"]
    shown = client.get(page, headers=EN).get_data(as_text=True)
    assert "12 depots, SLA 4 h" in shown and "Needs analysed" in shown
    assert _post(client, f"{page}/loss", {"lose-reason": "Chose a rival"}, page).status_code == 303
    db.session.expire_all()
    assert (
        db.session.get(Prospect, prospect.id).stage,
        db.session.get(Prospect, prospect.id).lost_reason,
    ) == ("lost", "Chose a rival")
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {
        "prospect.recorded",
        "prospect.qualified",
        "prospect.first_contact",
        "prospect.needs_analysis",
        "prospect.lost",
    } <= actions


def test_marketing_screens_out_with_a_reason(client, login_as):
    marketing = login_as("agent", departments=["marketing"])
    prospect = prospects.record(
        marketing, prospects.ProspectDetails("Tiny Shop", "retail", "small", "inbound")
    )
    page = f"/staff/prospects/{prospect.id}"
    no_reason = _post(client, f"{page}/rejection", {"reject-reason": ""}, page)
    assert no_reason.status_code == 422 and "Say why." in no_reason.get_data(as_text=True)
    assert (
        _post(client, f"{page}/rejection", {"reject-reason": "Too small for a key account"}, page).status_code
        == 303
    )
    db.session.expire_all()
    assert db.session.get(Prospect, prospect.id).stage == "lost"


def test_the_board_shows_each_stage_and_answers_htmx_with_itself(client, login_as, count_queries):
    marketing = login_as("agent", departments=["marketing"])
    prospects.record(marketing, prospects.ProspectDetails("Alpha Fab", "manufacturing", "large", "referral"))
    prospects.record(marketing, prospects.ProspectDetails("Beta Bank", "finance", "large", "trade_show"))
    page = client.get("/staff/prospects", headers=EN).get_data(as_text=True)
    assert "Alpha Fab" in page and "Beta Bank" in page and "First contact made" in page
    fragment = client.htmx_get("/staff/prospects?source=referral", headers=EN).get_data(as_text=True)
    assert "<html" not in fragment and "Alpha Fab" in fragment and "Beta Bank" not in fragment

    def counted():
        with count_queries() as run:
            client.get("/staff/prospects")
        return run.n

    few = counted()
    for n in range(8):
        prospects.record(marketing, prospects.ProspectDetails(f"Company {n}", "energy", "medium", "other"))
    assert counted() == few


# viewer -> (sees the board and a prospect, may record one, screens a new one)
WHO = {
    "marketing agent": (True, True, True),
    "sales agent": (True, True, False),
    "sales lead": (True, True, True),
    "after-sales agent": (False, False, False),
    "manager": (True, False, False),
    "admin": (True, True, True),
    "finance": (False, False, False),
}


@pytest.mark.parametrize("who", sorted(WHO))
def test_who_sees_and_does_what_on_every_prospect_route(app, client, login_as, who):
    people = {
        "marketing agent": ("agent", ["marketing"]),
        "sales agent": ("agent", ["sales"]),
        "sales lead": ("lead", ["sales"]),
        "after-sales agent": ("agent", ["after_sales"]),
        "manager": ("manager", []),
        "admin": ("admin", []),
        "finance": ("finance", []),
    }
    role, departments = people[who]
    viewer = login_as(role, departments=departments)
    recorder = make_user("agent", departments=["marketing"])
    prospect = prospects.record(
        recorder, prospects.ProspectDetails("Gamma Grid", "energy", "large", "inbound")
    )
    sees, records, screens = WHO[who]
    routes = [
        r for r in app.url_map.iter_rules() if r.endpoint.startswith("internal.") and "prospect" in r.rule
    ]
    assert len(routes) >= 8
    token = client.csrf_token("/profile")
    for rule in routes:
        path = rule.rule.replace("<int:prospect_id>", str(prospect.id))
        for method in sorted(rule.methods & {"GET", "POST"}):
            before = (prospect.stage, db.session.scalar(select(func.count(ProspectActivity.id))))
            data = {"csrf_token": token, "reason": "", "notes": "", "body": ""}
            answer = client.get(path) if method == "GET" else client.post(path, data=data)
            db.session.expire_all()
            if "<int:prospect_id>" in rule.rule and not sees:
                assert answer.status_code in (403, 404), (method, path)
                assert before == (
                    db.session.get(Prospect, prospect.id).stage,
                    db.session.scalar(select(func.count(ProspectActivity.id))),
                )
            elif rule.rule.endswith("/prospects") and method == "GET":
                assert answer.status_code == (200 if sees else 403), path
            elif rule.rule.endswith("/prospects/new"):
                assert answer.status_code == (200 if records else 403), path
    assert permissions_screen(viewer, prospect) is screens


def permissions_screen(viewer, prospect):
    from portal import permissions

    return permissions.can_screen_prospect(viewer, prospect)


def test_the_owner_asks_for_pre_sale_work_and_technical_support_sees_it(app, client, login_as):
    from portal.services.reference_data import ensure_reference_data
    from tests.web.test_double_submit import _key

    ensure_reference_data()
    owner = login_as("agent", departments=["sales"], full_name="Sales Sun")
    support = make_user("agent", departments=["tech_support"])
    prospect = Prospect(
        name="Orion Logistics",
        industry="energy",
        size="large",
        source="inbound",
        stage="first_contact",
        owner_id=owner.id,
    )
    db.session.add(prospect)
    db.session.commit()
    page = f"/staff/prospects/{prospect.id}"
    shown = client.get(page, headers=EN).get_data(as_text=True)
    assert "No pre-sale request" in shown and f"{page}/requests/new" in shown
    form = client.get(f"{page}/requests/new", headers=EN).get_data(as_text=True)
    refused = _post(
        client, f"{page}/requests", {"subtype": "solution_design", "title": "", "description": ""}, page
    )
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422
    missing = ("Give the request a title.", "Describe what you need.", "This is needed for this service.")
    assert all(message in text for message in missing)
    assert db.session.scalar(select(func.count(ServiceRequest.id))) == 0
    good = {
        "subtype": "solution_design",
        "title": "Monitoring for 40 substations",
        "description": "A design for the proposal.",
        "priority": "high",
        "project_background": "Grid upgrade 2027",
        "idempotency_key": _key(form),
    }
    filed = _post(client, f"{page}/requests", good, page)
    request = db.session.scalar(select(ServiceRequest))
    assert filed.status_code == 303 and filed.headers["Location"].endswith(f"/staff/requests/{request.id}")
    again = _post(client, f"{page}/requests", good, page)  # the same form twice: one request
    assert again.headers["Location"] == filed.headers["Location"]
    assert db.session.scalar(select(func.count(ServiceRequest.id))) == 1
    workspace = client.get(filed.headers["Location"], headers=EN).get_data(as_text=True)
    assert "Orion Logistics" in workspace and "Prospect" in workspace and "Sales Sun" in workspace
    assert request.reference in client.get(page, headers=EN).get_data(as_text=True)
    client.post_form("/logout", {})
    sign_in(client, support.email)
    queue = client.get("/staff/queue", headers=EN).get_data(as_text=True)
    assert request.reference in queue and "Orion Logistics" in queue
    assert client.get(filed.headers["Location"], headers=EN).status_code == 200


@pytest.mark.parametrize("who", ["marketing agent", "another sales agent", "customer"])
def test_only_its_owner_and_sales_leads_open_the_pre_sale_form(app, client, login_as, who):
    role, departments = {
        "marketing agent": ("agent", ["marketing"]),
        "another sales agent": ("agent", ["sales"]),
        "customer": ("customer", []),
    }[who]
    login_as(role, departments=departments)
    owner = make_user("agent", departments=["sales"])
    prospect = Prospect(
        name="Orion",
        industry="energy",
        size="large",
        source="inbound",
        stage="needs_analysed",
        owner_id=owner.id,
    )
    db.session.add(prospect)
    db.session.commit()
    assert client.get(f"/staff/prospects/{prospect.id}/requests/new").status_code in (403, 404)


def test_the_account_a_prospect_became_shows_its_pre_sale_work(app, client, login_as, tmp_path):
    from datetime import date

    from portal.services.reference_data import ensure_reference_data
    from portal.services.requests import intake, workflow
    from tests.factories import make_account

    ensure_reference_data()
    owner = login_as("agent", departments=["sales"])
    prospect = Prospect(
        name="Orion",
        industry="energy",
        size="large",
        source="inbound",
        stage="first_contact",
        owner_id=owner.id,
    )
    db.session.add(prospect)
    db.session.commit()
    new = workflow.NewRequest(
        "pre_sale", "solution_design", "Design for Orion", "d", details={"project_background": "grid"}
    )
    asked = intake.file_presale_request(
        prospect, owner, new, [], today=date.today(), files=file_store(), max_bytes=10**6
    )
    account = make_account(name="Orion Energy", account_manager=owner)
    prospect.account_id, prospect.stage = account.id, "won"
    db.session.commit()
    page = client.get(f"/staff/accounts/{account.id}", headers=EN).get_data(as_text=True)
    assert "Won as the prospect Orion." in page and asked.reference in page
    assert f"/staff/prospects/{prospect.id}" in page
