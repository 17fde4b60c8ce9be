"""Surveys: one CSAT invitation per resolved request, quarterly relationship surveys at most once per
contact, one-time expiring answers (also when two arrive at once), low scores opening follow-ups, results."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Notification, SurveyAnswer, SurveyInvitation
from portal.services.engagement import surveys
from portal.services.errors import InvalidInput
from portal.services.reference_data import ensure_reference_data
from portal.services.requests import workflow
from portal.services.requests.workflow import NewRequest
from tests.factories import make_account, make_user

MONDAY_9 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _reference_data():
    ensure_reference_data()


@pytest.fixture
def resolved():
    manager = make_user("agent", departments=["sales"], full_name="Account Manager")
    account = make_account(account_manager=manager)
    customer = make_user("customer", account=account)
    agent = make_user("agent", departments=["after_sales"])
    request = workflow.submit_request(
        account, customer, NewRequest("after_sale", "troubleshooting", "Down"), now=MONDAY_9
    )
    workflow.assign(request, agent, agent, seen_version=request.version)
    workflow.change_status(request, "resolve", agent, seen_version=None)
    return request, customer, agent, manager


def _invitations(**where) -> list[SurveyInvitation]:
    query = select(SurveyInvitation)
    for key, value in where.items():
        query = query.where(getattr(SurveyInvitation, key) == value)
    return list(db.session.scalars(query))


def _form(invitation, rating="5", solved="1", comment="", nps=None) -> dict[str, str]:
    values = {}
    for q in invitation.template.questions:
        values[f"q{q.id}"] = {"rating": rating, "yes_no": solved, "text": comment, "nps": nps or ""}[q.kind]
    return values


def test_resolving_invites_the_requester_exactly_once(resolved):
    request, customer, agent, _ = resolved
    (invitation,) = _invitations(request_id=request.id)
    assert invitation.user_id == customer.id and invitation.expires_at - invitation.created_at == timedelta(
        days=30
    )
    # Reopened and resolved again: still one invitation.
    workflow.change_status(request, "reopen", customer, seen_version=None)
    workflow.change_status(request, "resolve", agent, seen_version=None)
    assert len(_invitations(request_id=request.id)) == 1
    assert db.session.scalar(select(Notification).where(Notification.kind == "request_resolved")) is not None


def test_an_answer_counts_once_and_a_second_is_refused(resolved):
    request, customer, *_ = resolved
    (invitation,) = _invitations(request_id=request.id)
    answers = surveys.parse_answers(invitation.template, _form(invitation, comment="Quick and kind"))
    assert surveys.answer(invitation, answers) == []
    with pytest.raises(InvalidInput):
        surveys.answer(invitation, answers)
    assert db.session.scalar(select(func.count(SurveyAnswer.id))) == len(invitation.template.questions)
    assert db.session.get(SurveyInvitation, invitation.id).answered_at is not None


def test_two_answers_at_the_same_moment_yield_one(resolved, app):
    request, *_ = resolved
    (invitation,) = _invitations(request_id=request.id)
    invitation_id = invitation.id
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def answer_in_own_session():
        with app.app_context():
            mine = db.session.get(SurveyInvitation, invitation_id)
            parsed = surveys.parse_answers(mine.template, _form(mine))
            barrier.wait()
            try:
                surveys.answer(mine, parsed)
                outcomes.append("answered")
            except (InvalidInput, Exception) as error:  # noqa: BLE001  (a lock timeout counts as refused too)
                db.session.rollback()
                outcomes.append(f"refused: {type(error).__name__}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=answer_in_own_session) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes)[0] == "answered" and outcomes.count("answered") == 1, outcomes
    db.session.expire_all()
    counted = db.session.scalar(
        select(func.count(SurveyAnswer.id)).where(SurveyAnswer.invitation_id == invitation_id)
    )
    assert counted == len(invitation.template.questions)


def test_expired_and_unknown_links_are_refused_and_change_nothing(resolved):
    request, customer, *_ = resolved
    (invitation,) = _invitations(request_id=request.id)
    later = invitation.expires_at + timedelta(minutes=1)
    with pytest.raises(InvalidInput):
        surveys.invitation_by_token(invitation.token, now=later)
    with pytest.raises(InvalidInput):
        surveys.answer(invitation, {}, now=later)
    with pytest.raises(InvalidInput):
        surveys.invitation_by_token(invitation.token[:-1] + ("A" if invitation.token[-1] != "A" else "B"))
    assert db.session.get(SurveyInvitation, invitation.id).answered_at is None


def test_someone_elses_link_is_refused_for_a_signed_in_person(resolved):
    request, customer, *_ = resolved
    (invitation,) = _invitations(request_id=request.id)
    colleague = make_user("customer", account=customer.account)
    with pytest.raises(InvalidInput):
        surveys.invitation_by_token(invitation.token, colleague)
    assert surveys.invitation_by_token(invitation.token, customer).id == invitation.id
    assert surveys.invitation_of_user(colleague, invitation.id) is None


def test_required_questions_and_score_ranges(resolved):
    request, *_ = resolved
    (invitation,) = _invitations(request_id=request.id)
    with pytest.raises(InvalidInput) as missing:
        surveys.parse_answers(invitation.template, _form(invitation, rating=""))
    with pytest.raises(InvalidInput):
        surveys.parse_answers(invitation.template, _form(invitation, rating="6"))
    with pytest.raises(InvalidInput):
        surveys.parse_answers(invitation.template, _form(invitation, solved="yes"))
    assert missing.value.field.startswith("q")


def test_a_low_rating_opens_a_follow_up_for_the_account_manager(resolved):
    request, customer, agent, manager = resolved
    (invitation,) = _invitations(request_id=request.id)
    (task,) = surveys.answer(
        invitation, surveys.parse_answers(invitation.template, _form(invitation, rating="2", comment="Slow"))
    )
    assert (task.owner_id, task.reason, task.account_id) == (manager.id, "low_csat", customer.account_id)
    assert "Slow" in task.note and surveys.open_follow_ups(manager) == [task]
    assert db.session.scalar(
        select(Notification).where(
            Notification.user_id == manager.id, Notification.kind == "follow_up_opened"
        )
    )


@pytest.mark.parametrize("nps, opens", [(6, True), (7, False), (10, False), (0, True)])
def test_relationship_nps_of_six_or_less_opens_a_follow_up(nps, opens):
    manager = make_user("agent", departments=["sales"])
    account = make_account(account_manager=manager)
    person = make_user("customer_admin", account=account)
    assert surveys.invite_relationship(date(2026, 11, 27)) == 1
    (invitation,) = _invitations(user_id=person.id)
    values = {
        f"q{q.id}": ("4" if q.kind == "rating" else str(nps) if q.kind == "nps" else "")
        for q in invitation.template.questions
    }
    tasks = surveys.answer(invitation, surveys.parse_answers(invitation.template, values))
    assert bool(tasks) == opens
    assert (tasks[0].reason == "low_nps") if tasks else True


def test_one_relationship_survey_per_contact_per_quarter():
    account = make_account()
    people = [make_user("customer", account=account) for _ in range(2)]
    make_user("customer", account=account, active=False)
    assert surveys.invite_relationship(date(2026, 10, 1)) == 2
    assert surveys.invite_relationship(date(2026, 11, 15)) == 0  # same quarter
    assert surveys.invite_relationship(date(2026, 12, 31)) == 0
    assert surveys.invite_relationship(date(2027, 1, 2)) == 2  # a new quarter
    periods = sorted(i.period for i in _invitations(user_id=people[0].id))
    assert periods == ["2026Q4", "2027Q1"]
    told = db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.kind == "survey_invitation", Notification.user_id == people[0].id
        )
    )
    assert told == 2


def test_results_per_account_and_request():
    manager = make_user("agent", departments=["sales"])
    account = make_account(account_manager=manager)
    a, b, _c = (make_user("customer", account=account) for _ in range(3))
    surveys.invite_relationship(date(2026, 11, 27))
    answers_for = {a.id: "10", b.id: "3"}  # one promoter, one detractor; c does not answer
    for person_id, nps in answers_for.items():
        (invitation,) = _invitations(user_id=person_id)
        values = {
            f"q{q.id}": ("4" if q.kind == "rating" else nps if q.kind == "nps" else "")
            for q in invitation.template.questions
        }
        surveys.answer(invitation, surveys.parse_answers(invitation.template, values))
    found = surveys.results(account_id=account.id)
    assert (found.invited, found.answered) == (3, 2) and found.response_rate == pytest.approx(2 / 3)
    assert found.nps == 0 and found.nps_answers == 2  # 50 % promoters - 50 % detractors
    assert found.topics and all(v == 4 for v in found.topics.values())
    assert found.csat_mean is None  # no CSAT answered yet
