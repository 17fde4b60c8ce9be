"""Where the bytes of every stored file live — attachments, signed contracts, deliverables, proposals, ZIPs,
statements: one interface, two stores.

- ``database`` (the default): the bytes in ``file_chunks`` rows, written in the same transaction as the
  file's ``Attachment`` row — shared by every host, gone with a rollback, in every database backup.
- ``filesystem``: a folder (a volume every host mounts), each file under its random name; a rollback
  removes what the transaction wrote (``unit_of_work.write_new_file``).

Two tables own stored files (``OWNERS``): attachments, and the mail the portal received (``InboundMail``).
A row says which store holds its bytes (``Attachment.storage``); new files go to the configured one, so
``migrate`` can move files one at a time while the portal runs and every file stays readable throughout.
Reading streams a chunk at a time and checks the SHA-256: a file whose bytes no longer match its row is
never handed out whole (the last chunk is held back until the sum is known), and one that fits in a chunk
is refused before anything is sent.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import delete, func, inspect, select

from portal.extensions import db
from portal.models import Attachment, FileChunk, InboundMail
from portal.services.unit_of_work import use_case, write_new_file

log = logging.getLogger(__name__)

KINDS = ("database", "filesystem")
CHUNK = 512 * 1024
# Every table whose rows own a stored file: migrated, read through and checked alike.
OWNERS: tuple[Any, ...] = (Attachment, InboundMail)


class Stored(Protocol):
    """What reading needs of a row that owns a stored file (``OWNERS``)."""

    @property
    def id(self) -> int: ...
    @property
    def stored_name(self) -> str: ...
    @property
    def storage(self) -> str: ...
    @property
    def size_bytes(self) -> int: ...
    @property
    def sha256(self) -> str: ...


class FileUnreadable(Exception):
    """A stored file is missing from its store or its bytes do not match its SHA-256."""

    def __init__(self, attachment: Stored, problem: str) -> None:
        owner = attachment.owner if isinstance(attachment, _File) else type(attachment).__name__
        super().__init__(f"file {attachment.stored_name} ({owner} {attachment.id}): {problem}")
        self.problem = problem


@dataclass(frozen=True)
class _File:
    """What reading needs of an Attachment, taken once: a download goes on after the request's session has
    committed (an audit line) and let go of its objects."""

    id: int
    stored_name: str
    storage: str
    size_bytes: int
    sha256: str
    owner: str


@dataclass(frozen=True)
class FileStore:
    """The configured store for new files (``kind``) and the folder of the filesystem store."""

    kind: str
    folder: Path

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"FILE_STORAGE: database or filesystem, not {self.kind!r}")

    # --- writing, inside the caller's transaction -------------------------------------------------------

    def put(self, data: bytes) -> tuple[str, str]:
        """Keep ``data`` under a new random name; returns (stored name, store). Part of the current
        transaction: a rollback leaves nothing behind."""
        name = secrets.token_hex(16)
        self._write(self.kind, name, data)
        return name, self.kind

    def _write(self, kind: str, name: str, data: bytes) -> None:
        if kind == "filesystem":
            write_new_file(self.folder / name, data)
            return
        chunks = [data[at : at + CHUNK] for at in range(0, len(data), CHUNK)] or [b""]
        db.session.add_all(
            FileChunk(stored_name=name, seq=seq, data=chunk) for seq, chunk in enumerate(chunks)
        )
        db.session.flush()

    # --- reading ------------------------------------------------------------------------------------------

    def chunks(self, attachment: Stored) -> Iterator[bytes]:
        """The file's bytes, a chunk at a time, checked against its SHA-256 and size: raises
        ``FileUnreadable`` before the last chunk if they do not match (and at once if the file is missing)."""
        file = _File(
            attachment.id,
            attachment.stored_name,
            attachment.storage,
            attachment.size_bytes,
            attachment.sha256,
            type(attachment).__name__,
        )
        digest, size = hashlib.sha256(), 0
        raw = self._raw(file)
        held = next(raw, None)
        if held is None:
            raise FileUnreadable(file, "missing")
        for chunk in raw:
            digest.update(held)
            size += len(held)
            yield held
            held = chunk
        digest.update(held)
        size += len(held)
        if size != file.size_bytes or digest.hexdigest() != file.sha256:
            raise FileUnreadable(file, "damaged: its bytes do not match its SHA-256")
        yield held

    def read(self, attachment: Stored) -> bytes:
        return b"".join(self.chunks(attachment))

    def _raw(self, attachment: Stored) -> Iterator[bytes]:
        if attachment.storage == "filesystem":
            try:
                handle = open(self.folder / attachment.stored_name, "rb")  # noqa: SIM115 - closed below
            except FileNotFoundError:
                return
            with handle:
                first = handle.read(CHUNK)
                yield first
                while chunk := handle.read(CHUNK):
                    yield chunk
            return
        # One chunk per statement: memory holds one chunk, whatever the file's size.
        name = attachment.stored_name
        for seq in range(self._chunk_count(name)):
            data = db.session.scalar(
                select(FileChunk.data).where(
                    FileChunk.stored_name == attachment.stored_name, FileChunk.seq == seq
                )
            )
            if data is None:
                return
            yield data

    @staticmethod
    def _chunk_count(name: str) -> int:
        return db.session.scalar(select(func.count()).where(FileChunk.stored_name == name)) or 0

    def exists(self, attachment: Stored) -> bool:
        if attachment.storage == "filesystem":
            return (self.folder / attachment.stored_name).is_file()
        return self._chunk_count(attachment.stored_name) > 0

    # --- moving and checking (``flask storage migrate`` / ``check``) ---------------------------------------

    def migrate(self, to: str) -> Moved:
        """Move every file not yet in store ``to`` there, one use case per file: read and check it, write
        it, read it back and check again, point its row at the new store, then remove the old copy (a
        folder's file after the commit). A file that cannot be read is reported and left where it is.
        Safe to run again, and while the portal runs."""
        if to not in KINDS:
            raise ValueError(f"database or filesystem, not {to!r}")
        moved = Moved()
        for owner in self._owners():
            ids = list(db.session.scalars(select(owner.id).where(owner.storage != to).order_by(owner.id)))
            for row_id in ids:
                try:
                    left = self._move_one(owner, row_id, to)
                except FileUnreadable as error:
                    moved.failed.append(str(error))
                    continue
                if left is not None:
                    left.unlink(missing_ok=True)
                moved.count += 1
        return moved

    @use_case
    def _move_one(self, owner: Any, row_id: int, to: str) -> Path | None:
        row = db.session.get(owner, row_id)
        if row is None or row.storage == to:
            return None
        data = self.read(row)
        self._write(to, row.stored_name, data)
        source, row.storage = row.storage, to
        if self.read(row) != data:  # pragma: no cover - a store that loses what it just took
            raise FileUnreadable(row, f"not the same after copying to {to}")
        if source == "database":
            db.session.execute(delete(FileChunk).where(FileChunk.stored_name == row.stored_name))
            return None
        return self.folder / row.stored_name

    @staticmethod
    def _owners() -> list[Any]:
        """The owners whose tables the database has: moving files out is the step before ``flask db
        downgrade`` past the file store, which may meet a schema older than the received mail."""
        present = inspect(db.session.connection())
        return [owner for owner in OWNERS if present.has_table(owner.__tablename__)]

    def read_through(self) -> Iterator[tuple[str, FileUnreadable | None]]:
        """Each row's file read through a chunk at a time: (stored name, why it cannot be read, or None)."""
        for owner in self._owners():
            for row in db.session.scalars(select(owner).order_by(owner.id)).yield_per(500):
                try:
                    for _ in self.chunks(row):
                        pass
                except FileUnreadable as error:
                    yield row.stored_name, error
                else:
                    yield row.stored_name, None

    def check(self) -> Checked:
        """Every row's file present and matching its SHA-256; every file in either store has a row."""
        found = Checked()
        for _, error in self.read_through():
            found.files += 1
            if error is not None:
                found.unreadable.append(str(error))
        in_folder, in_database = set(), set()
        for owner in OWNERS:
            in_folder |= set(
                db.session.scalars(select(owner.stored_name).where(owner.storage == "filesystem"))
            )
            in_database |= set(
                db.session.scalars(select(owner.stored_name).where(owner.storage == "database"))
            )
        if self.folder.is_dir():
            found.orphans += [
                f"{self.folder / entry.name}"
                for entry in os.scandir(self.folder)
                if entry.is_file() and entry.name not in in_folder
            ]
        found.orphans += [
            f"database: {name}"
            for name in db.session.scalars(select(FileChunk.stored_name).distinct())
            if name not in in_database
        ]
        return found


@dataclass
class Moved:
    count: int = 0
    failed: list[str] = field(default_factory=list)


@dataclass
class Checked:
    files: int = 0
    unreadable: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.unreadable and not self.orphans
