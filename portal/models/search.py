"""What search reads: one entry per searchable thing (a request, a reply or internal note on it, a report, an
account, a contract), its text as shown and as index terms (``grams``, see services/search/terms.py).

The entries hold no permission: a search joins each entry to the thing it stands for and asks the
permission module there, so whoever may see a request finds it and nobody else does. The full-text index
over ``grams`` is the database's own — an FTS5 table kept by triggers on SQLite, a GIN index on
PostgreSQL — and is made by the migration (it is not part of the metadata: ``INDEX_OBJECTS``).
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, one_of

# request: its reference, title and what was filed · reply: a public reply · note: an internal note (staff
# only) · report: a published report · account · contract
KINDS = ("request", "reply", "note", "report", "account", "contract")
REQUEST_KINDS = ("request", "reply", "note", "report")

# The database's full-text structures over search_entries.grams (made and dropped by the migration only).
FTS_TABLE = "search_index"
GIN_INDEX = "ix_search_entries_grams"
INDEX_OBJECTS = (FTS_TABLE, GIN_INDEX)


def is_index_object(name: str | None) -> bool:
    """True for the full-text table, its shadow tables and the GIN index (for schema comparisons)."""
    return name is not None and any(name == n or name.startswith(f"{n}_") for n in INDEX_OBJECTS)


class SearchEntry(Base):
    __tablename__ = "search_entries"
    __table_args__ = (
        one_of("kind", KINDS),
        UniqueConstraint("kind", "object_id", name="uq_search_entries_object"),
        Index("ix_search_entries_request", "request_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    object_id: Mapped[int]
    # The request it belongs to (requests, replies, notes, reports): whoever may see that request sees it.
    request_id: Mapped[int | None] = mapped_column(ForeignKey("service_requests.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    grams: Mapped[str] = mapped_column(Text, default="")


def include_object(
    _object: object, name: str | None, type_: str, reflected: bool, _compare_to: object
) -> bool:
    """For Alembic's comparisons: the full-text structures the migration made are not the models' to own."""
    return not (reflected and type_ in ("table", "index") and is_index_object(name))
