"""Answering surveys on screen: from the emailed link without signing in, from the dashboard when signed in;
errors in place with answers kept; refusals that change nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from portal.extensions import db
from portal.models import SurveyAnswer, SurveyInvitation
from portal.models.base import utcnow
from portal.services.reference_data import ensure_reference_data
from portal.services.requests import workflow
from portal.services.requests.workflow import NewRequest
from tests.factories import make_user


@pytest.fixture(autouse=True)
def _reference_data():
    ensure_reference_data()


@pytest.fixture
def invitation():
    customer = make_user("customer", full_name="Zhao Lei", locale="en")
    agent = make_user("agent", departments=["after_sales"])
    request = workflow.submit_request(
        customer.account, customer, NewRequest("after_sale", "troubleshooting", "Slow VPN")
    )
    workflow.assign(request, agent, agent, seen_version=request.version)
    workflow.change_status(request, "resolve", agent, seen_version=None)
    return db.session.scalar(select(SurveyInvitation).where(SurveyInvitation.request_id == request.id))


def _answers(invitation, rating="4") -> dict[str, str]:
    return {
        f"q{q.id}": {"rating": rating, "yes_no": "1", "text": "Fine", "nps": ""}[q.kind]
        for q in invitation.template.questions
    }


def _token(client, path: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def test_the_link_works_without_signing_in_and_only_once(client, invitation):
    path = f"/survey/{invitation.token}"
    page = client.get(path, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Slow VPN" in page and "How satisfied are you" in page and 'type="radio"' in page
    token = _token(client, path)
    response = client.post(
        path, data={"csrf_token": token, **_answers(invitation)}, headers={"Accept-Language": "en"}
    )
    assert response.status_code == 200 and "Thank you" in response.get_data(as_text=True)
    again = client.post(
        path, data={"csrf_token": token, **_answers(invitation, "1")}, headers={"Accept-Language": "en"}
    )
    assert again.status_code == 410 and "already been answered" in again.get_data(as_text=True)
    rating = next(q for q in invitation.template.questions if q.kind == "rating")
    given = db.session.scalars(select(SurveyAnswer).where(SurveyAnswer.invitation_id == invitation.id)).all()
    assert len(given) == len(invitation.template.questions)
    assert [a.score for a in given if a.question_id == rating.id] == [4]  # the first answer, not the second


def test_a_missing_answer_is_marked_in_place_and_what_was_typed_is_kept(client, invitation):
    path = f"/survey/{invitation.token}"
    token = _token(client, path)
    values = _answers(invitation)
    rating_question = next(q for q in invitation.template.questions if q.kind == "rating")
    values[f"q{rating_question.id}"] = ""
    values.update({f"q{q.id}": "Keep this text" for q in invitation.template.questions if q.kind == "text"})
    response = client.post(path, data={"csrf_token": token, **values}, headers={"Accept-Language": "en"})
    page = response.get_data(as_text=True)
    assert (
        response.status_code == 422
        and f'id="q{rating_question.id}-error"' in page
        and "Keep this text" in page
    )
    assert db.session.get(SurveyInvitation, invitation.id).answered_at is None


def test_tampered_and_expired_links_are_refused(client, invitation):
    assert client.get(f"/survey/{invitation.token}x").status_code == 410
    with time_machine.travel(utcnow() + timedelta(days=31)):
        response = client.get(f"/survey/{invitation.token}", headers={"Accept-Language": "en"})
        assert response.status_code == 410 and "has closed" in response.get_data(as_text=True)


def test_signed_in_from_the_dashboard_and_nobody_elses(client, login_as, invitation):
    me = db.session.get(type(invitation.user), invitation.user_id)
    login_as(me)
    page = client.get("/my/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Surveys for you" in page and f"/my/surveys/{invitation.id}" in page
    path = f"/my/surveys/{invitation.id}"
    token = _token(client, path)
    assert client.post(path, data={"csrf_token": token, **_answers(invitation)}).status_code == 200
    assert "Surveys for you" not in client.get("/my/", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )

    client.post_form("/logout", token_from="/my/")
    colleague = make_user("customer", account=me.account)
    login_as(colleague)
    assert client.get(path).status_code == 404
    assert client.get(f"/survey/{invitation.token}").status_code == 410  # someone else's link


def test_the_resolution_email_carries_the_survey_link(outbox, invitation):
    from email import message_from_bytes
    from email.policy import default

    mails = [message_from_bytes(p.read_bytes(), policy=default) for p in outbox.glob("*.eml")]
    resolved = [m for m in mails if "Request resolved" in m["Subject"]]
    assert len(resolved) == 1
    assert (
        f"https://portal.example.test/survey/{invitation.token}"
        in resolved[0].get_body(("plain",)).get_content()
    )
