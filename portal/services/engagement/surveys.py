"""Satisfaction surveys (DESIGN.md §7): CSAT after a request is resolved, a relationship survey per contact
each quarter, answering once, low scores opening a follow-up for the account manager, and the results.

An invitation carries a random token (the link ``/survey/<token>``, no sign-in needed, only that survey);
it expires after INVITATION_DAYS and works once: the answer claims the invitation with a conditional UPDATE,
so two submissions at the same moment yield one answer. One CSAT invitation per request and one relationship
invitation per contact per quarter are unique indexes in the database.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal import permissions
from portal.extensions import db
from portal.models import (
    Account,
    FollowUpTask,
    ServiceRequest,
    SurveyAnswer,
    SurveyInvitation,
    SurveyQuestion,
    SurveyTemplate,
    TimelineEvent,
    User,
)
from portal.models.base import utcnow
from portal.services import audit
from portal.services.errors import InvalidInput, NotAllowed
from portal.services.messaging import notifications
from portal.services.unit_of_work import use_case
from portal.timeutil import today_for

INVITATION_DAYS = 30
LOW_RATING = 2  # a 1-5 rating at or below this is low
LOW_NPS = 6  # a 0-10 likelihood to recommend at or below this is low (a detractor)
FOLLOW_UP_DAYS = 5


def quarter_of(day: date) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def active_template(kind: str) -> SurveyTemplate | None:
    return db.session.scalar(
        select(SurveyTemplate)
        .where(SurveyTemplate.kind == kind, SurveyTemplate.active)
        .order_by(SurveyTemplate.id)
        .options(selectinload(SurveyTemplate.questions))
    )


def _new_invitation(template: SurveyTemplate, user: User, now: datetime, **extra: Any) -> SurveyInvitation:
    return SurveyInvitation(
        template_id=template.id,
        user_id=user.id,
        account_id=user.account_id,
        token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + timedelta(days=INVITATION_DAYS),
        **extra,
    )


def invite_after_resolution(request: ServiceRequest, now: datetime) -> SurveyInvitation | None:
    """Invite the requester to rate a just-resolved request: once per request, however often it is resolved.
    Joins the caller's transaction."""
    requester = db.session.get(User, request.requester_id) if request.requester_id else None
    if requester is None or not requester.active or requester.account_id is None:
        return None
    if db.session.scalar(select(SurveyInvitation.id).where(SurveyInvitation.request_id == request.id)):
        return None
    template = active_template("csat")
    if template is None:
        return None
    invitation = _new_invitation(template, requester, now, request_id=request.id)
    db.session.add(invitation)
    return invitation


def invite_relationship(today: date, now: datetime | None = None) -> int:
    """The quarterly relationship survey: each active account's active contacts, once per quarter. Safe to run
    any number of times (the quarter is part of a unique index)."""
    now = now or utcnow()
    template = active_template("relationship")
    if template is None:
        return 0
    period = quarter_of(today)
    already = set(
        db.session.scalars(select(SurveyInvitation.user_id).where(SurveyInvitation.period == period))
    )
    contacts = db.session.scalars(
        select(User)
        .join(Account, Account.id == User.account_id)
        .where(Account.active, User.active, User.role.in_(("customer", "customer_admin")))
        .order_by(User.id)
    ).all()
    invited = 0
    for person in contacts:
        if person.id in already:
            continue
        invitation = _new_invitation(template, person, now, period=period)
        db.session.add(invitation)
        try:
            db.session.flush()
        except IntegrityError:  # another worker invited them a moment ago
            db.session.rollback()
            continue
        notifications.notify(
            [person],
            "survey_invitation",
            data={"survey": template.name_en, "survey_zh": template.name_zh, "invitation_id": invitation.id},
            dedupe_key=f"survey_invitation:{invitation.id}",
            at=now,
        )
        db.session.commit()
        invited += 1
    return invited


# --- finding and answering -------------------------------------------------------------------------------


def _refused(message: Any) -> InvalidInput:
    return InvalidInput("survey", str(message))


def check_open(invitation: SurveyInvitation | None, now: datetime | None = None) -> SurveyInvitation:
    now = now or utcnow()
    if invitation is None:
        raise _refused(_l("This survey link is not valid."))
    if invitation.answered_at is not None:
        raise _refused(_l("This survey has already been answered. Thank you!"))
    if invitation.expires_at <= now:
        raise _refused(
            _l(
                "This survey has closed; it could be answered until %(day)s.",
                day=format_date(invitation.expires_at, "long"),  # in the reader's time zone
            )
        )
    return invitation


def invitation_by_token(
    token: str, viewer: User | None = None, now: datetime | None = None
) -> SurveyInvitation:
    """The open invitation a link names, or ``InvalidInput`` saying why not. A signed-in person may not
    answer someone else's survey through its link."""
    invitation = db.session.scalar(
        select(SurveyInvitation)
        .where(SurveyInvitation.token == token[:100])
        .options(selectinload(SurveyInvitation.template).selectinload(SurveyTemplate.questions))
    )
    if (
        invitation is not None
        and viewer is not None
        and viewer.is_authenticated
        and invitation.user_id != viewer.id
    ):
        raise _refused(_l("This survey was sent to someone else."))
    return check_open(invitation, now)


def invitation_of_user(user: User, invitation_id: int) -> SurveyInvitation | None:
    """The user's own invitation (None for anyone else's)."""
    invitation = db.session.get(SurveyInvitation, invitation_id)
    return invitation if invitation is not None and invitation.user_id == user.id else None


def pending_for(user: User, now: datetime | None = None) -> list[SurveyInvitation]:
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(SurveyInvitation)
            .where(
                SurveyInvitation.user_id == user.id,
                SurveyInvitation.answered_at.is_(None),
                SurveyInvitation.expires_at > now,
            )
            .options(selectinload(SurveyInvitation.template), selectinload(SurveyInvitation.request))
            .order_by(SurveyInvitation.created_at.desc())
        )
    )


def parse_answers(template: SurveyTemplate, form: dict[str, str]) -> dict[int, tuple[int | None, str | None]]:
    """Read ``q<id>`` fields: every required question answered, every score in its range. ``InvalidInput``
    names the first question that is wrong (field ``q<id>``)."""
    answers: dict[int, tuple[int | None, str | None]] = {}
    for question in template.questions:
        raw = (form.get(f"q{question.id}") or "").strip()
        name = f"q{question.id}"
        if question.kind == "text":
            answers[question.id] = (None, raw[:4000] or None)
            continue
        if not raw:
            if question.required:
                raise InvalidInput(name, str(_l("Please answer this question.")))
            continue
        limits = {"rating": (1, 5), "nps": (0, 10), "yes_no": (0, 1)}[question.kind]
        if not raw.isdigit() or not limits[0] <= int(raw) <= limits[1]:
            raise InvalidInput(name, str(_l("Choose one of the answers offered.")))
        answers[question.id] = (int(raw), None)
    return answers


@use_case
def answer(
    invitation: SurveyInvitation,
    answers: dict[int, tuple[int | None, str | None]],
    now: datetime | None = None,
) -> list[FollowUpTask]:
    """Record the answers once. Returns the follow-ups a low score opened."""
    now = now or utcnow()
    check_open(invitation, now)
    claimed = db.session.execute(  # type: ignore[attr-defined]
        update(SurveyInvitation)
        .where(SurveyInvitation.id == invitation.id, SurveyInvitation.answered_at.is_(None))
        .values(answered_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:  # someone (a second tab, a double click) answered a moment ago
        raise _refused(_l("This survey has already been answered. Thank you!"))
    questions = {q.id: q for q in invitation.template.questions}
    for question_id, (score, comment) in answers.items():
        if question_id in questions:
            db.session.add(
                SurveyAnswer(
                    invitation_id=invitation.id, question_id=question_id, score=score, comment=comment
                )
            )
    follow_ups = _follow_ups(invitation, answers, questions, now)
    if invitation.request_id is not None:
        rating = next(
            (s for q, (s, _) in answers.items() if q in questions and questions[q].kind == "rating"), None
        )
        db.session.add(
            TimelineEvent(
                request_id=invitation.request_id,
                kind="survey_answered",
                actor_id=invitation.user_id,
                data={"rating": rating},
                created_at=now,
            )
        )
    db.session.expire(invitation)
    return follow_ups


def _follow_ups(
    invitation: SurveyInvitation,
    answers: dict[int, tuple[int | None, str | None]],
    questions: dict[int, SurveyQuestion],
    now: datetime,
) -> list[FollowUpTask]:
    low_nps = any(
        questions[q].kind == "nps" and s is not None and s <= LOW_NPS
        for q, (s, _) in answers.items()
        if q in questions
    )
    low_rating = any(
        questions[q].kind == "rating" and s is not None and s <= LOW_RATING
        for q, (s, _) in answers.items()
        if q in questions
    )
    if not (low_nps or low_rating):
        return []
    account = db.session.get(Account, invitation.account_id)
    assert account is not None
    comments = "; ".join(c for _, c in answers.values() if c)
    task = FollowUpTask(
        account_id=account.id,
        owner_id=account.account_manager_id,
        invitation_id=invitation.id,
        reason="low_nps" if low_nps else "low_csat",
        note=comments[:2000],
        due_on=today_for(account.account_manager, now) + timedelta(days=FOLLOW_UP_DAYS),
        created_at=now,
    )
    db.session.add(task)
    db.session.flush()
    if account.account_manager is not None:
        notifications.notify(
            [account.account_manager],
            "follow_up_opened",
            request=db.session.get(ServiceRequest, invitation.request_id) if invitation.request_id else None,
            data={
                **notifications.account_names(account),
                "account_id": account.id,
                "reason": task.reason,
                "task_id": task.id,
            },
            at=now,
        )
    return [task]


# --- follow-ups ------------------------------------------------------------------------------------------


def open_follow_ups(viewer: User) -> list[FollowUpTask]:
    """The open follow-ups this person sees: their own (everyone's for managers and admins)."""
    query = select(FollowUpTask).where(
        FollowUpTask.done_at.is_(None), permissions.follow_up_condition(viewer)
    )
    return list(
        db.session.scalars(
            query.options(selectinload(FollowUpTask.account)).order_by(FollowUpTask.due_on, FollowUpTask.id)
        )
    )


@use_case
def close_follow_up(task: FollowUpTask, user: User, note: str = "") -> None:
    if not permissions.can_close_follow_up(user, task):
        raise NotAllowed(str(_l("Only the follow-up's owner can mark it done.")))
    if task.done_at is not None:
        raise InvalidInput("task", str(_l("This follow-up is already done.")))
    task.done_at = utcnow()
    if note.strip():
        task.note = (task.note + "\n" if task.note else "") + note.strip()[:2000]


# --- results ---------------------------------------------------------------------------------------------


@dataclass
class SurveyResults:
    invited: int = 0
    answered: int = 0
    csat_mean: float | None = None  # mean 1-5 rating
    nps: int | None = None  # % promoters − % detractors
    nps_answers: int = 0
    topics: dict[str, float] = field(default_factory=dict)  # relationship topic code -> mean 1-5

    @property
    def response_rate(self) -> float | None:
        return self.answered / self.invited if self.invited else None


def results(*, account_id: int | None = None, request_id: int | None = None) -> SurveyResults:
    """Invitations, answers, mean CSAT, NPS and topic means for an account or a request, in three SQL
    aggregates."""
    where = []
    if account_id is not None:
        where.append(SurveyInvitation.account_id == account_id)
    if request_id is not None:
        where.append(SurveyInvitation.request_id == request_id)
    invited, answered = db.session.execute(
        select(func.count(SurveyInvitation.id), func.count(SurveyInvitation.answered_at)).where(*where)
    ).one()
    answered_scores = (
        select(SurveyQuestion.kind, SurveyQuestion.code, SurveyAnswer.score)
        .join(SurveyAnswer, SurveyAnswer.question_id == SurveyQuestion.id)
        .join(SurveyInvitation, SurveyInvitation.id == SurveyAnswer.invitation_id)
        .where(*where, SurveyAnswer.score.is_not(None))
        .subquery()
    )
    csat_mean = db.session.scalar(
        select(func.avg(answered_scores.c.score)).where(
            answered_scores.c.kind == "rating", answered_scores.c.code == "rating"
        )
    )
    promoters, detractors, nps_count = db.session.execute(
        select(
            func.count(case((answered_scores.c.score >= 9, 1))),
            func.count(case((answered_scores.c.score <= LOW_NPS, 1))),
            func.count(),
        ).where(answered_scores.c.kind == "nps")
    ).one()
    topics = dict(
        db.session.execute(
            select(answered_scores.c.code, func.avg(answered_scores.c.score))
            .where(and_(answered_scores.c.kind == "rating", answered_scores.c.code.like("topic_%")))
            .group_by(answered_scores.c.code)
        ).all()
    )
    return SurveyResults(
        invited=invited,
        answered=answered,
        csat_mean=float(csat_mean) if csat_mean is not None else None,
        nps=round(100 * (promoters - detractors) / nps_count) if nps_count else None,
        nps_answers=nps_count,
        topics={k: float(v) for k, v in topics.items()},
    )


# --- templates (admin) -----------------------------------------------------------------------------------


def templates() -> list[SurveyTemplate]:
    return list(
        db.session.scalars(
            select(SurveyTemplate)
            .options(selectinload(SurveyTemplate.questions))
            .order_by(SurveyTemplate.kind, SurveyTemplate.id)
        )
    )


@use_case
def create_template(admin: User, *, kind: str, code: str, name_zh: str, name_en: str) -> SurveyTemplate:
    if kind not in ("csat", "relationship"):
        raise InvalidInput("kind", str(_l("Choose the kind of survey.")))
    code = code.strip().lower()
    if not code or not code.replace("_", "").isalnum() or len(code) > 40:
        raise InvalidInput("code", str(_l("Use letters, digits and underscores.")))
    if db.session.scalar(select(SurveyTemplate.id).where(SurveyTemplate.code == code)):
        raise InvalidInput("code", str(_l("Another template has this code.")))
    if not name_zh.strip() or not name_en.strip():
        raise InvalidInput("name_zh", str(_l("Give the name in both languages.")))
    template = SurveyTemplate(
        kind=kind, code=code, name_zh=name_zh.strip(), name_en=name_en.strip(), active=False
    )
    db.session.add(template)
    db.session.flush()
    audit.record("survey.template_created", actor=admin, obj=template, code=code)
    return template


@use_case
def update_template(
    template: SurveyTemplate,
    admin: User,
    *,
    name_zh: str,
    name_en: str,
    active: bool,
    questions: dict[int, tuple[str, str, bool]],
) -> None:
    """Rename, switch on (which switches the other templates of its kind off) and edit question texts; all
    or nothing. A template without questions cannot be switched on, and each kind keeps one active."""
    if not name_zh.strip() or not name_en.strip():
        raise InvalidInput("name_zh", str(_l("Give the name in both languages.")))
    for question in template.questions:
        zh, en, _required = questions.get(
            question.id, (question.text_zh, question.text_en, question.required)
        )
        if not zh.strip() or not en.strip():
            raise InvalidInput(f"q{question.id}", str(_l("Give the question in both languages.")))
    if active and not template.questions:
        raise InvalidInput("active", str(_l("Add questions before switching the survey on.")))
    if not active and template.active:
        raise InvalidInput(
            "active", str(_l("Switch another template of this kind on instead; one must stay on."))
        )
    template.name_zh, template.name_en = name_zh.strip()[:200], name_en.strip()[:200]
    for question in template.questions:
        if question.id in questions:
            zh, en, required = questions[question.id]
            question.text_zh, question.text_en = zh.strip()[:300], en.strip()[:300]
            question.required = required and question.kind != "text"
    if active and not template.active:
        for other in db.session.scalars(
            select(SurveyTemplate).where(
                SurveyTemplate.kind == template.kind, SurveyTemplate.id != template.id
            )
        ):
            other.active = False
        template.active = True
    audit.record("survey.template_changed", actor=admin, obj=template, active=template.active)


@use_case
def add_question(
    template: SurveyTemplate, admin: User, *, kind: str, code: str, text_zh: str, text_en: str, required: bool
) -> SurveyQuestion:
    if kind not in ("rating", "nps", "yes_no", "text"):
        raise InvalidInput("kind", str(_l("Choose the kind of question.")))
    code = code.strip().lower()
    if not code or not code.replace("_", "").isalnum() or len(code) > 40:
        raise InvalidInput("code", str(_l("Use letters, digits and underscores.")))
    if any(q.code == code for q in template.questions):
        raise InvalidInput("code", str(_l("This survey already has a question with this code.")))
    if not text_zh.strip() or not text_en.strip():
        raise InvalidInput("text_zh", str(_l("Give the question in both languages.")))
    position = max((q.position for q in template.questions), default=0) + 1
    question = SurveyQuestion(
        template_id=template.id,
        position=position,
        kind=kind,
        code=code,
        text_zh=text_zh.strip()[:300],
        text_en=text_en.strip()[:300],
        required=required and kind != "text",
    )
    db.session.add(question)
    audit.record("survey.question_added", actor=admin, obj=template, code=code)
    return question
