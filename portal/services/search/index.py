"""Keeping the search entries current: in the same transaction as the change, whatever made it.

The session tells us what a flush wrote (``install`` hooks ``after_flush``): a new request, reply, note,
report, account or contract gets its entry, a change to what an entry is made of remakes it, a deleted
one loses it — so no use case has to remember search, and an entry can never describe a change that was
rolled back. ``rebuild`` makes every entry afresh from the tables (``flask search reindex``, the
migration that brought search, the bench database): the same ``_SOURCES`` describe both ways.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, delete, event, func, insert, inspect, select
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models import Account, Contract, Deliverable, ServiceRequest, TimelineEvent
from portal.models.search import SearchEntry
from portal.services.search.terms import document_terms

_TEXT_EVENTS = ("public_reply", "internal_note")
_BATCH = 2000


def _lines(*parts: str | None) -> str:
    return "\n".join(p for p in parts if p)


def _request(r: Any) -> dict[str, Any]:
    return {
        "kind": "request",
        "object_id": r.id,
        "request_id": r.id,
        "title": f"{r.reference} {r.title}",
        "body": _lines(r.description, r.product, r.serial_number, r.topic, r.scope, r.site_address),
    }


def _event(e: Any) -> dict[str, Any] | None:
    if e.kind not in _TEXT_EVENTS or not e.body:
        return None
    kind = "note" if e.internal or e.kind == "internal_note" else "reply"
    return {"kind": kind, "object_id": e.id, "request_id": e.request_id, "title": "", "body": e.body}


def _report(d: Any) -> dict[str, Any]:
    return {
        "kind": "report",
        "object_id": d.id,
        "request_id": d.request_id,
        "title": d.title,
        "body": d.summary,
    }


def _account(a: Any) -> dict[str, Any]:
    return {
        "kind": "account",
        "object_id": a.id,
        "request_id": None,
        "title": a.name,
        "body": _lines(a.name_en, a.code),
    }


def _contract(c: Any) -> dict[str, Any]:
    return {
        "kind": "contract",
        "object_id": c.id,
        "request_id": None,
        "title": f"{c.number} {c.title}",
        "body": "",
    }


@dataclass(frozen=True)
class _Source:
    model: Any
    kinds: tuple[str, ...]
    columns: tuple[str, ...]  # what the entry is made of: a change to one of them remakes it
    entry: Callable[[Any], dict[str, Any] | None]
    where: Any = None  # which rows have entries at all (for rebuild)


_SOURCES = {
    source.model: source
    for source in (
        _Source(
            ServiceRequest,
            ("request",),
            (
                "reference",
                "title",
                "description",
                "product",
                "serial_number",
                "topic",
                "scope",
                "site_address",
            ),
            _request,
        ),
        _Source(
            TimelineEvent,
            ("reply", "note"),
            ("kind", "internal", "body", "request_id"),
            _event,
            TimelineEvent.kind.in_(_TEXT_EVENTS),
        ),
        _Source(Deliverable, ("report",), ("title", "summary", "request_id"), _report),
        _Source(Account, ("account",), ("name", "name_en", "code"), _account),
        _Source(Contract, ("contract",), ("number", "title"), _contract),
    )
}


def _with_terms(entry: dict[str, Any]) -> dict[str, Any]:
    return {**entry, "grams": document_terms(entry["title"], entry["body"])}


def _forget(connection: Connection, source: _Source, ids: list[int]) -> None:
    if ids:
        connection.execute(
            delete(SearchEntry).where(SearchEntry.kind.in_(source.kinds), SearchEntry.object_id.in_(ids))
        )


def _write(connection: Connection, entries: list[dict[str, Any]]) -> None:
    if entries:
        connection.execute(insert(SearchEntry), [_with_terms(e) for e in entries])


def _changed(obj: Any, source: _Source) -> bool:
    state = inspect(obj)
    return any(state.attrs[column].history.has_changes() for column in source.columns)


def _after_flush(session: Session, _context: Any) -> None:
    fresh: list[dict[str, Any]] = []
    stale: dict[_Source, list[int]] = {}
    for obj in session.new:
        source = _SOURCES.get(type(obj))
        if source is not None and (entry := source.entry(obj)) is not None:
            fresh.append(entry)
    for obj in session.dirty:
        source = _SOURCES.get(type(obj))
        if source is not None and _changed(obj, source):
            stale.setdefault(source, []).append(obj.id)
            if (entry := source.entry(obj)) is not None:
                fresh.append(entry)
    for obj in session.deleted:
        source = _SOURCES.get(type(obj))
        if source is not None:
            stale.setdefault(source, []).append(obj.id)
    if not fresh and not stale:
        return
    connection = session.connection()
    for source, ids in stale.items():
        _forget(connection, source, ids)
    _write(connection, fresh)


def install() -> None:
    """Hook the index onto the app's session (called once by create_app)."""
    if not event.contains(db.session, "after_flush", _after_flush):
        event.listen(db.session, "after_flush", _after_flush)


def _rows(connection: Connection, source: _Source, after: int = 0) -> Iterator[Sequence[Any]]:
    table = source.model.__table__
    names = sorted({"id", *source.columns, *(["request_id"] if "request_id" in table.c else [])})
    query = select(*(table.c[name] for name in names)).order_by(table.c.id)
    if source.where is not None:
        query = query.where(source.where)
    last = after
    while True:
        rows = connection.execute(query.where(table.c.id > last).limit(_BATCH)).all()
        if not rows:
            return
        yield rows
        last = rows[-1].id


def rebuild(connection: Connection) -> int:
    """Every entry made afresh from the tables, in the caller's transaction; how many there are."""
    connection.execute(delete(SearchEntry))
    return sum(add_after(connection, model, 0) for model in _SOURCES)


def add_after(connection: Connection, model: Any, after_id: int) -> int:
    """Entries for the rows of ``model`` past ``after_id`` that were written round the session (the bench's
    bulk inserts); how many."""
    source, count = _SOURCES[model], 0
    for rows in _rows(connection, source, after_id):
        entries = [e for e in map(source.entry, rows) if e is not None]
        _write(connection, entries)
        count += len(entries)
    return count


def missing(connection: Connection) -> int:
    """How many requests have no entry (after a bulk load that went round the session, say)."""
    entry = select(SearchEntry.id).where(
        and_(SearchEntry.kind == "request", SearchEntry.object_id == ServiceRequest.id)
    )
    return connection.scalar(select(func.count()).where(~entry.exists()).select_from(ServiceRequest)) or 0
