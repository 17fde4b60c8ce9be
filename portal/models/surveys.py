"""Satisfaction surveys: templates with questions, one-time invitations and their answers."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.accounts import Account, User
from portal.models.base import Base, TimestampMixin, one_of

if TYPE_CHECKING:
    from portal.models.requests import ServiceRequest

SURVEY_KINDS = ("csat", "relationship")
QUESTION_KINDS = ("rating", "nps", "yes_no", "text")


class SurveyTemplate(TimestampMixin, Base):
    __tablename__ = "survey_templates"
    __table_args__ = (one_of("kind", SURVEY_KINDS),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    questions: Mapped[list[SurveyQuestion]] = relationship(
        back_populates="template", cascade="all, delete-orphan", order_by="SurveyQuestion.position"
    )


class SurveyQuestion(Base):
    __tablename__ = "survey_questions"
    __table_args__ = (
        one_of("kind", QUESTION_KINDS),
        UniqueConstraint("template_id", "position", name="uq_survey_questions_template_position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("survey_templates.id", ondelete="CASCADE"))
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(String(10))
    # A stable code (e.g. "solved", "nps", "topic_quality") so KPIs can find a question across templates.
    code: Mapped[str] = mapped_column(String(40))
    text_zh: Mapped[str] = mapped_column(String(300))
    text_en: Mapped[str] = mapped_column(String(300))
    required: Mapped[bool] = mapped_column(Boolean, default=True)

    template: Mapped[SurveyTemplate] = relationship(back_populates="questions")


class SurveyInvitation(TimestampMixin, Base):
    """A one-time invitation for one person to answer one survey."""

    __tablename__ = "survey_invitations"
    __table_args__ = (
        CheckConstraint("expires_at > created_at", name="expires_after_creation"),
        Index("ix_survey_invitations_user_open", "user_id", "answered_at"),
        Index("ix_survey_invitations_account", "account_id", "created_at"),
        # One CSAT invitation per request; one relationship survey per contact per quarter.
        Index(
            "uq_survey_invitations_request",
            "request_id",
            unique=True,
            sqlite_where=text("request_id IS NOT NULL"),
            postgresql_where=text("request_id IS NOT NULL"),
        ),
        Index(
            "uq_survey_invitations_user_period",
            "user_id",
            "period",
            unique=True,
            sqlite_where=text("period IS NOT NULL"),
            postgresql_where=text("period IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("survey_templates.id", ondelete="RESTRICT"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("service_requests.id", ondelete="CASCADE"))
    period: Mapped[str | None] = mapped_column(String(7))  # "2026Q3" for relationship surveys
    token: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]

    template: Mapped[SurveyTemplate] = relationship()
    user: Mapped[User] = relationship()
    account: Mapped[Account] = relationship()
    request: Mapped[ServiceRequest | None] = relationship()
    answers: Mapped[list[SurveyAnswer]] = relationship(
        back_populates="invitation", cascade="all, delete-orphan"
    )


class SurveyAnswer(Base):
    __tablename__ = "survey_answers"
    __table_args__ = (
        UniqueConstraint("invitation_id", "question_id", name="uq_survey_answers_invitation_question"),
        CheckConstraint("score IS NULL OR (score >= 0 AND score <= 10)", name="score_range"),
        Index("ix_survey_answers_question", "question_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("survey_invitations.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("survey_questions.id", ondelete="RESTRICT"))
    score: Mapped[int | None]  # rating 1-5, NPS 0-10, yes/no as 1/0
    comment: Mapped[str | None] = mapped_column(Text)

    invitation: Mapped[SurveyInvitation] = relationship(back_populates="answers")
    question: Mapped[SurveyQuestion] = relationship()
