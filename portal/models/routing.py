"""Routing rules, SLA policies and the business calendar the SLA clock runs on."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.accounts import TIERS, Department, User
from portal.models.base import Base, one_of, utcnow
from portal.models.requests import PRIORITIES


class RoutingRule(Base):
    """One rule of the ordered list: a request matching every non-empty criterion goes to the department."""

    __tablename__ = "routing_rules"
    __table_args__ = (
        CheckConstraint("position >= 0", name="position_not_negative"),
        UniqueConstraint("position", name="uq_routing_rules_position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(20))
    subtype: Mapped[str | None] = mapped_column(String(30))
    tier: Mapped[str | None] = mapped_column(String(10))
    industry: Mapped[str | None] = mapped_column(String(20))
    priority: Mapped[str | None] = mapped_column(String(10))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="RESTRICT"))
    default_assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    department: Mapped[Department] = relationship()
    default_assignee: Mapped[User | None] = relationship()


class SlaPolicy(Base):
    """Targets in business minutes for one tier × priority."""

    __tablename__ = "sla_policies"
    __table_args__ = (
        one_of("tier", TIERS),
        one_of("priority", PRIORITIES),
        UniqueConstraint("tier", "priority", name="uq_sla_policies_tier_priority"),
        CheckConstraint(
            "first_response_minutes > 0 AND resolution_minutes >= first_response_minutes",
            name="targets_ordered",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tier: Mapped[str] = mapped_column(String(10))
    priority: Mapped[str] = mapped_column(String(10))
    first_response_minutes: Mapped[int]
    resolution_minutes: Mapped[int]


class BusinessCalendar(Base):
    __tablename__ = "business_calendars"
    __table_args__ = (
        CheckConstraint("workday_end > workday_start", name="hours_ordered"),
        CheckConstraint("length(working_weekdays) <= 7", name="weekdays_short"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    workday_start: Mapped[time]
    workday_end: Mapped[time]
    # ISO weekdays that are working days, e.g. "12345" for Monday to Friday.
    working_weekdays: Mapped[str] = mapped_column(String(7), default="12345")
    use_public_holidays: Mapped[bool] = mapped_column(Boolean, default=True)
    holiday_country: Mapped[str] = mapped_column(String(2), default="CN")

    exceptions: Mapped[list[CalendarException]] = relationship(
        back_populates="calendar", cascade="all, delete-orphan", order_by="CalendarException.day"
    )


class CalendarException(Base):
    """A day an admin declares working or free, overriding weekdays and public holidays."""

    __tablename__ = "calendar_exceptions"
    __table_args__ = (UniqueConstraint("calendar_id", "day", name="uq_calendar_exceptions_calendar_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("business_calendars.id", ondelete="CASCADE"))
    day: Mapped[date]
    is_working: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(200), default="")

    calendar: Mapped[BusinessCalendar] = relationship(back_populates="exceptions")
