"""One search box: what a person may see that holds every word they typed, best first, with the words marked.

Each section asks the full-text index for the newest entries that hold every query term (``terms.py``),
joined to the thing each entry stands for and filtered by the permission module's own condition for it —
so a search can never show what the person could not open (no other account's request, no internal note
for a customer). The newest ``CANDIDATES`` matches of a section are then ranked: the words in a title count
more than in a text, the whole query as written more than its words apart, and newer before older at a
tie. A request is one result however many of its replies and notes match, shown by its best match.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, column, func, select, table, text
from sqlalchemy.orm import defer

from portal import permissions
from portal.extensions import db
from portal.models import Account, Contract, ServiceRequest, User
from portal.models.search import FTS_TABLE, SearchEntry
from portal.services.search.terms import Term, fts5_query, normal, query_terms, runs, tsquery

CANDIDATES = 200
SHOWN = {"requests": 20, "reports": 10, "accounts": 10, "contracts": 10}
_SNIPPET = 160  # characters of text shown around the first match
_LONGEST_QUERY = 200

Snippet = list[tuple[str, bool]]  # the text in pieces, each marked as a match or not


@dataclass
class Hit:
    kind: str  # what matched: request, reply, note, report, account, contract
    object_id: int
    request_id: int | None
    title: Snippet
    text: Snippet
    score: float
    newest: int  # the newest matching entry: recency breaks ties
    details: dict[str, Any] = field(default_factory=dict)  # what the page shows beside it


@dataclass
class Results:
    query: str
    terms: list[Term]
    sections: dict[str, list[Hit]]
    more: set[str]  # sections with more matches than shown

    @property
    def empty(self) -> bool:
        return not any(self.sections.values())


def _candidates(
    terms: list[Term],
    kinds: tuple[str, ...],
    scope: Any,
    on: ColumnElement[bool],
    condition: ColumnElement[bool],
    *,
    drive: str = "matches",
    columns: tuple[Any, ...] = (),
) -> list[Any]:
    """The newest ``CANDIDATES + 1`` entries of these kinds that hold every term, whose thing (``scope``
    joined ``on``) meets the permission ``condition``.

    PostgreSQL plans it from its statistics. SQLite has none, so it is told where to start (``drive``):
    ``matches`` walks the matches newest first and stops at enough in the person's scope — for staff's
    requests (2–5 ms at 100,000 requests, however common the word); ``scope`` goes from the scope's
    requests to their entries and looks each up among the matches — for a scope that is a small part of
    everything, a customer's requests (walking a common word's matches visited them all: 134 → 14 ms);
    ``kind`` goes from the entries of the few kinds (reports, accounts, contracts) the same way (18 → 3 ms;
    measured 2026-12-04)."""
    wanted = SearchEntry.kind.in_(kinds)
    if db.engine.dialect.name == "postgresql":
        # The same expression as the GIN index (a bound ' ' would not match it); the query a tsquery literal.
        holds = text(
            "array_to_tsvector(string_to_array(search_entries.grams, ' ')) @@ CAST(:terms AS tsquery)"
        ).bindparams(terms=tsquery(terms))
        query = select(SearchEntry, *columns)
        if drive == "matches" and not _common(holds):
            # A rare word: walking the entries newest first would read them all to find few (a word
            # nothing holds: 250-450 ms at 100,000 requests); take its matches from the index first.
            found = select(SearchEntry.id).where(holds, wanted).offset(0).subquery()  # OFFSET 0: not merged
            query = query.join(found, found.c.id == SearchEntry.id)
        else:
            query = query.where(holds, wanted)
        query = query.join(scope, on).where(condition).order_by(SearchEntry.id.desc())
    else:
        index = table(FTS_TABLE, column("rowid"))
        holds = text(f"{FTS_TABLE} MATCH :terms").bindparams(terms=fts5_query(terms))
        # + 0: a lookup in the matches (made once), never a walk over them for each entry
        among_matches = (SearchEntry.id + 0).in_(select(index.c.rowid).where(holds))
        if drive == "scope":
            query = (
                select(SearchEntry, *columns)
                .select_from(scope)
                .join(SearchEntry, on)
                .with_hint(SearchEntry, "INDEXED BY ix_search_entries_request", "sqlite")
                .where(condition, wanted, among_matches)
                .order_by(SearchEntry.id.desc())
            )
        elif drive == "kind":
            query = (
                select(SearchEntry, *columns)
                .join(scope, on)
                .where(wanted, among_matches, condition)
                .order_by(SearchEntry.id.desc())
            )
        else:
            query = (
                select(SearchEntry, *columns)
                .select_from(index)
                .join(SearchEntry, SearchEntry.id == index.c.rowid)
                .join(scope, on)
                .where(holds, wanted, condition)
                .order_by(index.c.rowid.desc())
            )
    query = query.options(defer(SearchEntry.grams)).limit(CANDIDATES + 1)
    return list(db.session.execute(query))


_COMMON = 5000


def _common(holds: Any) -> bool:
    """Whether at least ``_COMMON`` entries hold the terms (PostgreSQL; read from the index, stops there)."""
    sample = select(SearchEntry.id).where(holds).limit(_COMMON).subquery()
    return (db.session.scalar(select(func.count()).select_from(sample)) or 0) >= _COMMON


def _request_entries(user: User, terms: list[Term], kinds: tuple[str, ...], drive: str) -> list[Any]:
    on = ServiceRequest.id == SearchEntry.request_id
    return _candidates(terms, kinds, ServiceRequest, on, permissions.request_condition(user), drive=drive)


def _pieces(query: str) -> list[str]:
    return [p for p in runs(query) if p]


def _marked(value: str, pieces: list[str], *, window: int | None = None) -> Snippet:
    """``value`` in pieces with every occurrence of a query piece marked (matched on the normalised text, so
    ＡＢＣ is found by abc); with ``window``, only that many characters around the first match."""
    folded: list[str] = []
    origin: list[int] = []  # for each folded character, the original one it came from
    for i, char in enumerate(value):
        for f in normal(char):
            folded.append(f)
            origin.append(i)
    haystack = "".join(folded)
    spans: list[tuple[int, int]] = []
    for piece in sorted(set(pieces), key=len, reverse=True):
        start = haystack.find(piece)
        while start >= 0:
            end = start + len(piece)
            spans.append((origin[start], origin[end - 1] + 1))
            start = haystack.find(piece, end)
    spans = _merged(spans)
    begin, finish = 0, len(value)
    if window is not None:
        first = spans[0][0] if spans else 0
        begin = max(0, first - window // 3)
        finish = min(len(value), begin + window)
    out: Snippet = [("…", False)] if begin > 0 else []
    at = begin
    for start, end in spans:
        if end <= begin or start >= finish:
            continue
        start, end = max(start, begin), min(end, finish)
        if start > at:
            out.append((value[at:start], False))
        out.append((value[start:end], True))
        at = end
    if at < finish:
        out.append((value[at:finish], False))
    if finish < len(value):
        out.append(("…", False))
    return out


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _score(entry: SearchEntry, pieces: list[str], phrase: str) -> float:
    title, body = normal(entry.title), normal(entry.body)
    score = 0.0
    for piece in pieces:
        score += 3 if piece in title else 1 if piece in body else 0
    if len(pieces) > 1 and phrase in title:
        score += 4
    elif len(pieces) > 1 and phrase in body:
        score += 2
    return score + (0.5 if entry.kind == "request" else 0)


def _hit(entry: SearchEntry, pieces: list[str], score: float, newest: int | None = None) -> Hit:
    return Hit(
        kind=entry.kind,
        object_id=entry.object_id,
        request_id=entry.request_id,
        title=_marked(entry.title, pieces),
        text=_marked(entry.body, pieces, window=_SNIPPET),
        score=score,
        newest=newest or entry.id,
    )


def _ranked(entries: Iterable[SearchEntry], pieces: list[str], phrase: str, shown: int) -> list[Hit]:
    """The best ``shown`` entries, marked (only those: marking is the dear part)."""
    scored = sorted(((_score(e, pieces, phrase), e.id, e) for e in entries), key=lambda s: (-s[0], -s[1]))
    return [_hit(entry, pieces, score) for score, _id, entry in scored[:shown]]


def _requests(user: User, terms: list[Term], pieces: list[str], phrase: str) -> tuple[list[Hit], bool]:
    kinds = ("request", "reply", "note") if permissions.sees_internal_notes(user) else ("request", "reply")
    # A customer's requests are one account's: a small part of all.
    rows = _request_entries(user, terms, kinds, "scope" if permissions.is_customer(user) else "matches")
    matches: dict[int, list[tuple[float, int, SearchEntry]]] = {}
    for (entry,) in rows[:CANDIDATES]:
        matches.setdefault(entry.request_id, []).append((_score(entry, pieces, phrase), entry.id, entry))
    best = []
    for found in matches.values():
        score, _id, entry = max(found, key=lambda s: (s[0], s[1]))
        # Several matches in one request count a little (a request whose every reply names the word).
        best.append((score + 0.25 * min(len(found) - 1, 4), max(s[1] for s in found), entry))
    best.sort(key=lambda s: (-s[0], -s[1]))
    shown = [_hit(entry, pieces, score, newest) for score, newest, entry in best[: SHOWN["requests"]]]
    _describe_requests(shown, pieces)
    return shown, len(rows) > CANDIDATES or len(best) > len(shown)


def _describe_requests(hits: list[Hit], pieces: list[str]) -> None:
    """What a result shows of its request besides the match (reference, status, account; the title, marked,
    whatever matched): one statement."""
    if not hits:
        return
    rows = db.session.execute(
        select(
            ServiceRequest.id,
            ServiceRequest.reference,
            ServiceRequest.title,
            ServiceRequest.status,
            ServiceRequest.updated_at,
            Account.name.label("account_name"),
        )
        .outerjoin(Account, Account.id == ServiceRequest.account_id)
        .where(ServiceRequest.id.in_([h.request_id for h in hits]))
    )
    described = {row.id: row._asdict() for row in rows}
    for hit in hits:
        hit.details = described[hit.request_id]
        hit.title = _marked(hit.details["title"], pieces)


def _reports(user: User, terms: list[Term], pieces: list[str], phrase: str) -> tuple[list[Hit], bool]:
    rows = _request_entries(user, terms, ("report",), "kind")
    hits = _ranked((entry for (entry,) in rows[:CANDIDATES]), pieces, phrase, SHOWN["reports"])
    return hits, len(rows) > len(hits)


def _accounts(user: User, terms: list[Term], pieces: list[str], phrase: str) -> tuple[list[Hit], bool]:
    on = Account.id == SearchEntry.object_id
    rows = _candidates(terms, ("account",), Account, on, permissions.account_condition(user), drive="kind")
    hits = _ranked((entry for (entry,) in rows[:CANDIDATES]), pieces, phrase, SHOWN["accounts"])
    return hits, len(rows) > len(hits)


def _contracts(user: User, terms: list[Term], pieces: list[str], phrase: str) -> tuple[list[Hit], bool]:
    on, condition = Contract.id == SearchEntry.object_id, permissions.contract_condition(user)
    rows = _candidates(terms, ("contract",), Contract, on, condition, drive="kind", columns=(Contract,))
    contracts = {entry.id: contract for entry, contract in rows}
    shown = _ranked((entry for entry, _contract in rows[:CANDIDATES]), pieces, phrase, SHOWN["contracts"])
    for hit in shown:
        hit.details = {"contract": contracts[hit.newest]}
    return shown, len(rows) > len(shown)


_SECTIONS = {"requests": _requests, "reports": _reports, "accounts": _accounts, "contracts": _contracts}


def sections_for(user: User) -> tuple[str, ...]:
    """What this person's search covers, in the order the page shows it."""
    names = []
    if permissions.sees_requests(user):
        names += ["requests", "reports"]
    if not permissions.is_customer(user):
        names.append("accounts")
    names.append("contracts")
    return tuple(names)


def search(user: User, query: str) -> Results:
    """What ``user`` may see that holds every word of ``query``: a few statements, one per section."""
    query = " ".join(query.split())[:_LONGEST_QUERY]
    terms = query_terms(query)
    results = Results(query=query, terms=terms, sections={}, more=set())
    if not terms:
        return results
    pieces = _pieces(query)
    phrase = normal(query)
    for name in sections_for(user):
        hits, more = _SECTIONS[name](user, terms, pieces, phrase)
        results.sections[name] = hits
        if more:
            results.more.add(name)
    return results
