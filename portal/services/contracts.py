"""Contracts as accounts and finance see them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.models import Contract


def account_contracts(account_id: int) -> list[Contract]:
    """An account's contracts with their entitlements, newest first."""
    return list(
        db.session.scalars(
            select(Contract)
            .where(Contract.account_id == account_id)
            .options(selectinload(Contract.entitlements))
            .order_by(Contract.end_date.desc(), Contract.id.desc())
        )
    )
