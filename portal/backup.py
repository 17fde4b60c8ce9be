"""Backup and restore (``flask backup DEST``, ``flask restore SRC``).

A backup is a directory: the database — SQLite through its online backup API (never a copy of the file,
which a commit can tear), PostgreSQL through ``pg_dump`` (one consistent snapshot) — which holds the
stored files kept in the database (``FILE_STORAGE = "database"``, the default); then the files of the
folder store (``filesystem``), then ``manifest.json``. The order matters: a folder's file is written
before its row commits, so every row in the snapshot has its file by the time the files are copied (a file
newer than the snapshot is copied too, harmlessly). A restore puts the database back whole (SQLite's
backup API again; ``pg_restore --clean``), copies the folder's files back, and verifies: the database's
integrity, and every stored file's SHA-256 against its row, in whichever store it lives. Stop the
portal's web and worker processes before restoring."""

from __future__ import annotations

import glob
import hashlib
import json
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL

from portal.extensions import db
from portal.services.storage import FileStore

SQLITE_FILE, POSTGRES_FILE, FILES, MANIFEST = "database.sqlite3", "database.pgdump", "files", "manifest.json"


class BackupError(Exception):
    """A backup or restore that cannot be done, in words for the operator."""


@dataclass
class Verified:
    """What a restore found: the database's own check, and the stored files against their rows."""

    database: str = ""
    files_checked: int = 0
    missing: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.database == "ok" and not self.missing and not self.mismatched


def _url() -> URL:
    return db.engine.url


def _libpq(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_tool(name: str) -> str:
    """``pg_dump``/``pg_restore`` on the PATH, else the newest of Debian's installed servers."""
    installed = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    found = shutil.which(name) or (installed[-1] if installed else None)
    if found is None:
        raise BackupError(f"{name} is not installed (Debian: the postgresql-client package)")
    return found


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {done.stderr.strip()[-2000:]}")


def backup(dest: Path, store: FileStore) -> dict[str, object]:
    """Take a backup into ``dest`` (which must not exist yet); returns the manifest written there."""
    if dest.exists():
        raise BackupError(f"{dest} exists already: a backup goes into a new directory")
    dest.mkdir(parents=True)
    url = _url()
    taken_at = datetime.now(UTC).isoformat()
    if url.get_backend_name() == "sqlite":
        source = sqlite3.connect(str(url.database))
        target = sqlite3.connect(str(dest / SQLITE_FILE))
        try:
            source.backup(target)  # all pages in one step: one consistent state, writers wait their turn
        finally:
            target.close()
            source.close()
        database = SQLITE_FILE
    else:
        _run(
            [
                _pg_tool("pg_dump"),
                "--format=custom",
                "--no-owner",
                f"--file={dest / POSTGRES_FILE}",
                _libpq(url),
            ]
        )
        database = POSTGRES_FILE
    files = dest / FILES
    files.mkdir()
    copied = 0
    upload_folder = store.folder
    for path in sorted(upload_folder.iterdir()) if upload_folder.is_dir() else []:
        if path.is_file():
            try:
                shutil.copy2(path, files / path.name)
                copied += 1
            except FileNotFoundError:  # its transaction rolled back and removed it meanwhile
                continue
    manifest: dict[str, object] = {
        "taken_at": taken_at,
        "database": database,
        "backend": url.get_backend_name(),
        "files": copied,
        "sha256": hashlib.sha256((dest / database).read_bytes()).hexdigest(),
    }
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest


def restore(source: Path, store: FileStore) -> Verified:
    """Put a backup back into the configured database and upload folder, then verify it."""
    manifest_path = source / MANIFEST
    if not manifest_path.is_file():
        raise BackupError(f"{source} is not a backup (no {MANIFEST})")
    manifest = json.loads(manifest_path.read_text())
    database = source / str(manifest["database"])
    if hashlib.sha256(database.read_bytes()).hexdigest() != manifest["sha256"]:
        raise BackupError(f"{database.name} does not match its manifest: the backup is damaged")
    url = _url()
    if manifest["backend"] != url.get_backend_name():
        raise BackupError(f"a {manifest['backend']} backup cannot be restored into {url.get_backend_name()}")
    db.session.remove()
    db.engine.dispose()
    if url.get_backend_name() == "sqlite":
        backup_db = sqlite3.connect(str(database))
        target = sqlite3.connect(str(url.database))
        try:
            backup_db.backup(target)
        finally:
            target.close()
            backup_db.close()
    else:
        _run(
            [
                _pg_tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                f"--dbname={_libpq(url)}",
                str(database),
            ]
        )
    copied = sorted((source / FILES).iterdir())
    if copied:
        store.folder.mkdir(parents=True, exist_ok=True)
    for path in copied:
        if not (store.folder / path.name).exists():
            shutil.copy2(path, store.folder / path.name)
    return verify(store)


def verify(store: FileStore) -> Verified:
    """The database's integrity check, and every stored file's SHA-256 against its row."""
    found = Verified()
    if db.engine.dialect.name == "sqlite":
        found.database = str(db.session.execute(text("PRAGMA integrity_check")).scalar())
    else:
        db.session.execute(text("SELECT count(*) FROM alembic_version")).scalar()
        found.database = "ok"
    for stored_name, error in store.read_through():
        found.files_checked += 1
        if error is not None:
            (found.missing if error.problem == "missing" else found.mismatched).append(stored_name)
    db.session.remove()
    return found
