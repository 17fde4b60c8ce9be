"""Reference numbers such as SR-2026-000123: one counter per year, handed out once, never reused."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import ReferenceCounter


def next_reference(year: int) -> str:
    """Take the next number inside the caller's transaction. The counter row is locked by the UPDATE until
    the caller commits, so two concurrent requests can never be given the same number."""
    number = db.session.execute(
        update(ReferenceCounter)
        .where(ReferenceCounter.year == year)
        .values(last_number=ReferenceCounter.last_number + 1)
        .returning(ReferenceCounter.last_number)
    ).scalar()
    if number is None:
        try:
            with db.session.begin_nested():
                db.session.add(ReferenceCounter(year=year, last_number=1))
            number = 1
        except IntegrityError:  # another writer created the year's row first
            return next_reference(year)
    return f"SR-{year}-{number:06d}"
