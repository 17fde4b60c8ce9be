"""Proposals on screen: sales drafts one (every problem at once), sends it, and the prospect's contact answers
by the emailed link — the link opens the latest version only, an expired offer cannot be accepted, an
acceptance makes the account, its administrator's invitation and the draft contract; an account's
administrator answers in the portal; the PDF reads back in the proposal's language; who sees and who may
change what, route by route for every staff role."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from email import message_from_bytes
from email.policy import default

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from portal import permissions
from portal.extensions import db
from portal.models import Account, Contract, Proposal, Prospect, User
from portal.services.pipeline import proposals
from tests.factories import make_account, make_user

EN = {"Accept-Language": "en"}
TODAY = date.today()
FORM = {
    "title": "Depot support 2027",
    "language": "en",
    "tier": "key",
    "currency": "CNY",
    "discount_percent": "5",
    "valid_until": (TODAY + timedelta(days=20)).isoformat(),
    "start_date": (TODAY + timedelta(days=30)).isoformat(),
    "end_date": (TODAY + timedelta(days=394)).isoformat(),
    "terms": "Payment within 30 days.",
    "quantity_on_site_days": "10",
    "price_on_site_days": "9000",
    "quantity_support_hours": "200",
    "price_support_hours": "450",
    "per_year": "support_hours",
}


def _prospect(owner: User, stage: str = "needs_analysed") -> Prospect:
    prospect = Prospect(
        name="Orion Logistics",
        industry="other",
        size="large",
        source="referral",
        contact_name="Ms Lin",
        contact_email="lin@orion.example",
        stage=stage,
        owner_id=owner.id,
    )
    db.session.add(prospect)
    db.session.commit()
    return prospect


def _post(client, path, data, token_from):
    return client.post(path, data={"csrf_token": client.csrf_token(token_from), **data}, headers=EN)


def _mails_to(outbox, address):
    mails = [message_from_bytes(p.read_bytes(), policy=default) for p in sorted(outbox.glob("*.eml"))]
    return [m for m in mails if m["To"] == address]


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_sales_sends_a_proposal_and_the_prospect_accepts_it_by_the_link(app, client, login_as, outbox):
    owner = login_as("agent", departments=["sales"], full_name="Sales Sun")
    prospect = _prospect(owner)
    new = f"/staff/prospects/{prospect.id}/proposals/new"
    refused = _post(
        client,
        f"/staff/prospects/{prospect.id}/proposals",
        {**FORM, "title": "", "discount_percent": "150", "price_on_site_days": "", "end_date": "2020-01-01"},
        new,
    )
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    for message in (
        "Give the proposal a title.",
        "A percentage from 0 to 100",
        "Give the price per unit.",
        "The last day comes before the first.",
    ):
        assert message in page, message
    assert db.session.scalar(select(func.count(Proposal.id))) == 0

    made = _post(client, f"/staff/prospects/{prospect.id}/proposals", FORM, new)
    proposal = db.session.scalar(select(Proposal))
    assert made.status_code == 303 and made.headers["Location"].endswith(f"/staff/proposals/{proposal.id}")
    # 10 × 9,000 + 200 × 450 = 180,000, less 5 %
    assert proposal.total == 171000 and proposal.state == "draft"
    assert "¥171,000.00" in client.get(f"/staff/proposals/{proposal.id}", headers=EN).get_data(as_text=True)
    assert (
        _post(
            client, f"/staff/proposals/{proposal.id}/sending", {}, f"/staff/proposals/{proposal.id}"
        ).status_code
        == 303
    )
    db.session.expire_all()
    assert (proposal.state, db.session.get(Prospect, prospect.id).stage) == ("sent", "proposal_sent")
    (mail,) = _mails_to(outbox, "lin@orion.example")
    assert (
        mail["Subject"] == f"Our proposal {proposal.number}: Depot support 2027"
    )  # in the proposal's language
    link = re.search(
        r"https?://\S+(/my/proposals/review/\S+)", mail.get_body(("plain",)).get_content()
    ).group(1)
    client.post_form("/logout", token_from="/profile")

    # The contact, signed in as nobody.
    review = client.get(link, headers=EN).get_data(as_text=True)
    assert "Depot support 2027" in review and "¥171,000.00" in review and "Accept the proposal" in review
    pdf = client.get(f"{link}/pdf")
    assert pdf.mimetype == "application/pdf" and "attachment" in pdf.headers["Content-Disposition"]
    assert "Service proposal and quotation" in _text(pdf.data) and "171,000.00" in _text(pdf.data)
    nameless = _post(client, link, {"answer": "accepted", "name": ""}, link)
    assert nameless.status_code == 422 and "Give your name." in nameless.get_data(as_text=True)
    assert _post(client, link, {"answer": "accepted", "name": "Lin Xia"}, link).status_code == 303
    db.session.expire_all()
    proposal = db.session.get(Proposal, proposal.id)
    account = db.session.scalar(select(Account).where(Account.name == "Orion Logistics"))
    contract = db.session.get(Contract, proposal.contract_id)
    assert (proposal.state, proposal.answered_by_name, contract.account_id) == (
        "accepted",
        "Lin Xia",
        account.id,
    )
    assert (contract.state, contract.amount) == ("draft", 171000)
    assert {(e.kind, e.quantity, e.period) for e in contract.entitlements} == {
        ("on_site_days", 10, "contract"),
        ("support_hours", 200, "year"),
    }
    invited = db.session.scalar(select(User).where(User.email == "lin@orion.example"))
    assert (invited.role, invited.account_id) == ("customer_admin", account.id)
    assert any(
        "/invitation/" in m.get_body(("plain",)).get_content() for m in _mails_to(outbox, "lin@orion.example")
    )
    # Answered: the link shows the outcome and answers no more.
    again = client.get(link, headers=EN).get_data(as_text=True)
    assert "Accept the proposal" not in again and "Accepted" in again
    assert _post(client, link, {"answer": "declined", "comment": "x", "name": "Lin"}, link).status_code == 422
    assert client.get(link[:-3] + "xyz").status_code == 410


def test_an_expired_offer_says_so_and_cannot_be_accepted(app, client, login_as):
    owner = make_user("agent", departments=["sales"])
    prospect = _prospect(owner)
    terms = proposals.ProposalTerms(
        title="Old offer",
        language="en",
        tier="key",
        currency="CNY",
        discount_percent="0",
        valid_until=TODAY,
        start_date=TODAY,
        end_date=TODAY + timedelta(days=300),
        quantities={"support_hours": "10"},
        prices={"support_hours": "100"},
    )
    made = proposals.create(owner, terms, TODAY, prospect=prospect)
    proposals.send(owner, made, TODAY)
    made.valid_until = TODAY - timedelta(days=1)  # a day later, as far as the offer goes
    db.session.commit()
    link = f"/my/proposals/review/{proposals.review_token(made)}"
    page = client.get(link, headers=EN).get_data(as_text=True)
    assert "can no longer be accepted" in page and "Accept the proposal" not in page
    refused = _post(client, link, {"answer": "accepted", "name": "Ms Lin"}, link)
    assert refused.status_code == 422 and "ask for a new version" in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Contract.id))) == 0


def test_an_account_administrator_answers_in_the_portal(app, client, login_as, outbox):
    owner = make_user("agent", departments=["sales"])
    account = make_account(account_manager=owner)
    administrator = make_user("customer_admin", account=account)
    colleague = make_user("customer", account=account)
    terms = proposals.ProposalTerms(
        title="More training",
        language="en",
        tier="key",
        currency="CNY",
        discount_percent="0",
        valid_until=TODAY + timedelta(days=10),
        start_date=TODAY + timedelta(days=20),
        end_date=TODAY + timedelta(days=200),
        quantities={"training_sessions": "3"},
        prices={"training_sessions": "15000"},
    )
    draft = proposals.create(owner, terms, TODAY, account=account)
    login_as(administrator)
    assert client.get(f"/my/proposals/{draft.id}").status_code == 404  # a draft is not shown
    proposals.send(owner, draft, TODAY)
    listed = client.get("/my/proposals", headers=EN).get_data(as_text=True)
    assert "More training" in listed and "Sent, awaiting answer" in listed
    page = f"/my/proposals/{draft.id}"
    silent = _post(client, f"{page}/answer", {"answer": "changes_requested", "comment": ""}, page)
    assert silent.status_code == 422 and "Say what should change, or why." in silent.get_data(as_text=True)
    assert (
        _post(
            client, f"{page}/answer", {"answer": "changes_requested", "comment": "Two sessions"}, page
        ).status_code
        == 303
    )
    db.session.expire_all()
    answered = db.session.get(Proposal, draft.id)
    assert (answered.state, answered.answered_by_id, answered.answer_comment) == (
        "changes_requested",
        administrator.id,
        "Two sessions",
    )
    client.post_form("/logout", token_from="/profile")
    login_as(colleague)
    assert client.get("/my/proposals").status_code == 403


# who -> (role, departments)
STAFF = {
    "sales owner": None,
    "sales lead": ("lead", ["sales"]),
    "tech support agent": ("agent", ["tech_support"]),
    "marketing agent": ("agent", ["marketing"]),
    "after-sales agent": ("agent", ["after_sales"]),
    "manager": ("manager", []),
    "finance": ("finance", []),
    "admin": ("admin", []),
}


@pytest.mark.parametrize("who", sorted(STAFF))
def test_who_sees_and_changes_proposals_on_every_route(app, client, login_as, who):
    owner = make_user("agent", departments=["sales"])
    prospect = _prospect(owner)
    terms = proposals.ProposalTerms(
        title="Matrix",
        language="zh",
        tier="key",
        currency="CNY",
        discount_percent="0",
        valid_until=TODAY + timedelta(days=10),
        start_date=TODAY + timedelta(days=20),
        end_date=TODAY + timedelta(days=200),
        quantities={"support_hours": "3"},
        prices={"support_hours": "100"},
    )
    proposal = proposals.create(owner, terms, TODAY, prospect=prospect)
    viewer = owner if STAFF[who] is None else make_user(STAFF[who][0], departments=STAFF[who][1])
    login_as(viewer)
    sees, drafts = (
        permissions.can_view_proposal(viewer, proposal),
        permissions.can_draft_proposal(viewer, proposal),
    )
    assert (sees, drafts) == {
        "sales owner": (True, True),
        "sales lead": (True, True),
        "tech support agent": (True, True),
        "marketing agent": (True, False),
        "after-sales agent": (False, False),
        "manager": (True, False),
        "finance": (True, False),
        "admin": (True, True),
    }[who]
    routes = [
        r
        for r in app.url_map.iter_rules()
        if r.endpoint.startswith("internal.") and "<int:proposal_id>" in r.rule
    ]
    assert len(routes) >= 4
    token = client.csrf_token("/profile")
    for rule in routes:
        path = rule.rule.replace("<int:proposal_id>", str(proposal.id))
        for method in sorted(rule.methods & {"GET", "POST"}):
            before = (proposal.state, db.session.scalar(select(func.count(Proposal.id))))
            answer = (
                client.get(path) if method == "GET" else client.post(path, data={"csrf_token": token, **FORM})
            )
            db.session.expire_all()
            if not sees:
                assert answer.status_code == 404, (method, path)
            elif method == "GET":
                assert answer.status_code == 200, path
            elif not drafts:
                assert answer.status_code == 403, (method, path)
            if method == "POST" and not drafts:
                after = (
                    db.session.get(Proposal, proposal.id).state,
                    db.session.scalar(select(func.count(Proposal.id))),
                )
                assert after == before, (method, path)
    new = client.get(f"/staff/prospects/{prospect.id}/proposals/new")
    assert new.status_code == (200 if drafts else 403 if permissions.sees_prospects(viewer) else 404)
