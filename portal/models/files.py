"""The bytes of stored files kept in the database (``FILE_STORAGE = "database"``, the default): each file
in chunks, so that a download streams a chunk at a time, never the whole file (services/storage.py)."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base


class FileChunk(Base):
    __tablename__ = "file_chunks"
    __table_args__ = (CheckConstraint("seq >= 0", name="seq_not_negative"),)

    # The Attachment's stored_name; no foreign key, so that `flask storage check` can find either side alone.
    stored_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)
