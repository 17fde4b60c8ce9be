"""Valid objects with overrides: ``make_user(role="agent", departments=["sales"])``."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from argon2 import PasswordHasher, profiles
from sqlalchemy import select

from portal.extensions import db
from portal.models import Account, Contract, Department, Entitlement, ServiceRequest, TimelineEvent, User
from portal.models.base import utcnow
from portal.services.requests.references import next_reference

PASSWORD = "test-Password-1"
# Made once, with the parameters the test app uses (the hash carries them).
_PASSWORD_HASH = PasswordHasher.from_parameters(profiles.CHEAPEST).hash(PASSWORD)
_counter = itertools.count(1)


def make_account(**overrides: Any) -> Account:
    n = next(_counter)
    values: dict[str, Any] = dict(
        name=f"测试客户 {n}",
        name_en=f"Test Account {n}",
        industry="finance",
        size="large",
        tier="strategic",
        preferred_language="zh",
        email_domains="example.com",
    )
    values.update(overrides)
    account = Account(**values)
    db.session.add(account)
    db.session.commit()
    return account


def department(code: str) -> Department:
    found = db.session.scalar(select(Department).where(Department.code == code))
    if found is None:
        from portal.services.reference_data import ensure_reference_data

        ensure_reference_data()
        found = db.session.scalar(select(Department).where(Department.code == code))
    assert found is not None
    return found


def make_user(
    role: str = "customer",
    *,
    account: Account | None = None,
    departments: list[str] | None = None,
    **overrides: Any,
) -> User:
    n = next(_counter)
    if role in ("customer", "customer_admin") and account is None:
        account = make_account()
    values: dict[str, Any] = dict(
        email=f"user{n}@example.com",
        full_name=f"User {n}",
        role=role,
        password_hash=_PASSWORD_HASH,
        account=account,
    )
    values.update(overrides)
    user = User(**values)
    user.departments = [department(code) for code in (departments or [])]
    db.session.add(user)
    db.session.commit()
    return user


def make_contract(account: Account, **overrides: Any) -> Contract:
    n = next(_counter)
    today = date.today()
    values: dict[str, Any] = dict(
        number=f"C-{n:05d}",
        title=f"Service contract {n}",
        account=account,
        start_date=today - timedelta(days=100),
        end_date=today + timedelta(days=265),
        amount=Decimal("100000"),
        currency="CNY",
        state="signed",
    )
    entitlements = overrides.pop("entitlements", {"on_site_days": 10, "support_hours": 100})
    values.update(overrides)
    contract = Contract(**values)
    contract.entitlements = [Entitlement(kind=k, quantity=Decimal(q)) for k, q in entitlements.items()]
    db.session.add(contract)
    db.session.commit()
    return contract


def make_request(requester: User, **overrides: Any) -> ServiceRequest:
    assert requester.account is not None
    values: dict[str, Any] = dict(
        account=requester.account,
        requester=requester,
        category="after_sale",
        subtype="troubleshooting",
        title="Batch job fails",
        description="It fails nightly.",
        priority="normal",
        status="open",
        created_at=utcnow(),
    )
    values.update(overrides)
    request = ServiceRequest(reference=next_reference(values["created_at"].year), **values)
    db.session.add(request)
    db.session.flush()
    db.session.add(TimelineEvent(request_id=request.id, kind="created", actor_id=requester.id))
    db.session.commit()
    return request


def stored_files() -> set[str]:
    """Every file either store holds: the upload folder's names and the database's (a rollback must leave
    neither a row nor a file behind)."""
    from portal.models import FileChunk
    from portal.uploads import upload_folder

    folder = upload_folder()
    on_disk = {p.name for p in folder.iterdir()} if folder.exists() else set()
    return on_disk | set(db.session.scalars(select(FileChunk.stored_name).distinct()))
