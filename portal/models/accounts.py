"""Accounts (key customers), people, departments and their sign-in state."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, Column, Float, ForeignKey, Index, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, TimestampMixin, one_of

INDUSTRIES = ("finance", "energy", "manufacturing", "telecom", "public", "healthcare", "retail", "other")
SIZES = ("large", "medium", "small")
TIERS = ("strategic", "key", "ordinary")
LANGUAGES = ("zh", "en")

CUSTOMER_ROLES = ("customer_admin", "customer")
STAFF_ROLES = ("agent", "lead")
INTERNAL_ROLES = ("agent", "lead", "finance", "manager", "admin")
ROLES = CUSTOMER_ROLES + INTERNAL_ROLES

DEPARTMENTS = ("sales", "marketing", "tech_support", "after_sales", "delivery", "finance")


class Account(TimestampMixin, Base):
    __tablename__ = "accounts"
    __table_args__ = (
        one_of("industry", INDUSTRIES),
        one_of("size", SIZES),
        one_of("tier", TIERS),
        one_of("preferred_language", LANGUAGES),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # A short code of the account's own (HUAXIN): how an import workbook names it. Set for every account
    # made in the back office; older ones may have none.
    code: Mapped[str | None] = mapped_column(String(20), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    name_en: Mapped[str] = mapped_column(String(200), default="")
    industry: Mapped[str] = mapped_column(String(20))
    size: Mapped[str] = mapped_column(String(10))
    tier: Mapped[str] = mapped_column(String(10), index=True)
    account_manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", use_alter=True, ondelete="SET NULL"), index=True
    )
    preferred_language: Mapped[str] = mapped_column(String(5), default="zh")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The company's own email domains, space-separated ("huaxin-bank.example huaxin.example"): the account's
    # administrator invites colleagues with addresses on them only.
    email_domains: Mapped[str] = mapped_column(String(500), default="", server_default="")

    account_manager: Mapped[User | None] = relationship(foreign_keys=[account_manager_id])

    @property
    def domains(self) -> list[str]:
        return [
            d.strip().lower().lstrip("@") for d in self.email_domains.replace(",", " ").split() if d.strip()
        ]

    users: Mapped[list[User]] = relationship(back_populates="account", foreign_keys="User.account_id")

    def display_name(self, locale: str) -> str:
        return self.name_en if locale == "en" and self.name_en else self.name


department_memberships = Table(
    "department_memberships",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_department_memberships_department_id", "department_id"),
)


class Department(Base):
    __tablename__ = "departments"
    __table_args__ = (one_of("code", DEPARTMENTS),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    auto_assign: Mapped[bool] = mapped_column(Boolean, default=False)

    members: Mapped[list[User]] = relationship(
        secondary=department_memberships, back_populates="departments", order_by="User.id"
    )

    def display_name(self, locale: str) -> str:
        return self.name_en if locale == "en" else self.name_zh


class User(UserMixin, TimestampMixin, Base):
    __tablename__ = "users"
    __table_args__ = (
        one_of("role", ROLES),
        # Customers belong to exactly one account; staff to none.
        CheckConstraint(
            "(role IN ('customer_admin', 'customer')) = (account_id IS NOT NULL)", name="account_matches_role"
        ),
        CheckConstraint("locale IS NULL OR locale IN ('zh', 'en')", name="locale_valid"),
        CheckConstraint("email = lower(email)", name="email_lowercase"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"), index=True)
    phone: Mapped[str] = mapped_column(String(40), default="")
    job_title: Mapped[str] = mapped_column(String(120), default="")
    locale: Mapped[str | None] = mapped_column(String(5))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[datetime | None]

    account: Mapped[Account | None] = relationship(back_populates="users", foreign_keys=[account_id])
    departments: Mapped[list[Department]] = relationship(
        secondary=department_memberships, back_populates="members", order_by="Department.id"
    )

    @property
    def may_sign_in(self) -> bool:
        return self.signs_in(self.active, self.account.active if self.account is not None else None)

    @staticmethod
    def signs_in(active: bool, account_active: bool | None) -> bool:
        """Active, and of an account that is not switched off (staff belong to none: ``None``)."""
        return bool(active) and account_active is not False

    @property
    def is_active(self) -> bool:  # flask-login refuses inactive users
        return self.may_sign_in

    @property
    def is_customer(self) -> bool:
        return self.role in CUSTOMER_ROLES

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


class LoginSession(Base):
    """One signed-in browser. The cookie carries only this row's random id, so signing out (revoking the
    row) makes a copied cookie worthless, and deactivating a user ends all their sessions."""

    __tablename__ = "login_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    ip_address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class SignInThrottle(Base):
    """Failed sign-ins per email address, whether or not a user has that address, so that the lockout
    never reveals which addresses exist."""

    __tablename__ = "sign_in_throttles"

    email: Mapped[str] = mapped_column(String(254), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]


class RateLimitCounter(Base):
    """A rate limit's fixed window for one client and route (``portal/rate_limits.py``), held in the
    database so that every worker and every host counts together when there is no Redis
    (``portal/limits_storage.py``)."""

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    hits: Mapped[int] = mapped_column(default=0)
    # Seconds since the epoch, as the limits library counts.
    expires_at: Mapped[float] = mapped_column(Float)
