"""Backup and restore under load: a backup taken while 16 clients write (against gunicorn, on SQLite and on
PostgreSQL) restores into a fresh instance whole — the database's integrity check passes, every write
acknowledged before the backup began is there, and every stored file matches its row's SHA-256."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal import backup, create_app
from portal.extensions import db
from portal.models import Attachment, TimelineEvent
from portal.services.requests import attachments
from portal.services.storage import FileStore
from tests.conftest import app_config
from tests.test_concurrency import Client, _serve, _world

CLIENTS = 16


def _write(base: str, email: str, staff: bool, hot: list[int], number: int, acked: list, stop):  # noqa: ANN001
    client = Client(base)
    client.sign_in(email)
    n = 0
    while not stop.is_set() and n < 400:
        marker, target = f"b-{number}-{n}", hot[n % len(hot)]
        n += 1
        path = f"/staff/requests/{target}" if staff else f"/my/requests/{target}"
        try:
            csrf, version = client.token(path)
            data = {"csrf_token": csrf, "version": version, "body": marker}
            if client.post(f"{path}/reply", data) == 303:
                acked.append((marker, time.monotonic()))
        except (OSError, AssertionError):
            continue


def test_a_backup_under_load_restores_whole_elsewhere(app, database_url, scratch_database_url, tmp_path):
    customers, agents, hot = _world(CLIENTS)
    folder = Path(app.config["UPLOAD_FOLDER"])
    in_database, in_folder = FileStore("database", folder), FileStore("filesystem", folder)
    for i in range(4):  # files in both stores: the database's come with its dump, the folder's are copied
        data, store = f"report {i}\n".encode(), in_folder if i % 2 else in_database
        attachments.store_file(data, f"r{i}.txt", "text/plain", store, account_id=None)
    db.session.commit()
    files = db.session.scalar(select(func.count(Attachment.id)))
    server, base, _log = _serve(database_url, tmp_path)
    acked: list[tuple[str, float]] = []
    stop = threading.Event()
    try:
        writers = [
            threading.Thread(
                target=_write, args=(base, p.email, p in agents, hot, i, acked, stop), daemon=True
            )
            for i, p in enumerate(customers + agents)
        ]
        for writer in writers:
            writer.start()
        deadline = time.monotonic() + 60
        while len(acked) < 2 * CLIENTS and time.monotonic() < deadline:  # the writers are in full swing
            time.sleep(0.05)
        began = time.monotonic()
        manifest = backup.backup(tmp_path / "backup", in_database)
        time.sleep(1)  # and go on writing after it
        stop.set()
        for writer in writers:
            writer.join(timeout=60)
        assert not any(writer.is_alive() for writer in writers)
    finally:
        server.terminate()
        server.wait(timeout=30)
    before = {marker for marker, at in acked if at < began}
    assert len(before) > CLIENTS and len(acked) > len(before), "the backup was taken under load"
    assert manifest["files"] >= 2

    elsewhere = create_app(app_config(scratch_database_url, tmp_path / "elsewhere"))
    restored_files = tmp_path / "elsewhere" / "uploads"
    with elsewhere.app_context():
        found = backup.restore(tmp_path / "backup", FileStore("database", restored_files))
        assert found.ok, found
        assert found.database == "ok" and found.files_checked == files
        assert len(list(restored_files.iterdir())) >= 2
        bodies = set(db.session.scalars(select(TimelineEvent.body).where(TimelineEvent.body.like("b-%"))))
        assert before <= bodies, sorted(before - bodies)[:10]
        db.session.remove()
        db.engine.dispose()


def test_a_damaged_backup_is_refused(app, store, tmp_path):
    backup.backup(tmp_path / "b", store)
    with pytest.raises(backup.BackupError, match="exists already"):
        backup.backup(tmp_path / "b", store)
    manifest = tmp_path / "b" / backup.MANIFEST
    manifest.write_text(manifest.read_text().replace('"sha256": "', '"sha256": "0'))
    with pytest.raises(backup.BackupError, match="damaged"):
        backup.restore(tmp_path / "b", store)


def test_the_commands_back_up_and_restore(app, tmp_path):
    runner = app.test_cli_runner()
    made = runner.invoke(args=["backup", str(tmp_path / "nightly")])
    assert made.exit_code == 0, made.output
    assert "Backed up to" in made.output and (tmp_path / "nightly" / backup.MANIFEST).is_file()
    refused = runner.invoke(args=["restore", str(tmp_path / "nightly")], input="n\n")
    assert refused.exit_code != 0  # asked first, and nothing done when the answer is no
    restored = runner.invoke(args=["restore", "--yes", str(tmp_path / "nightly")])
    assert restored.exit_code == 0, restored.output
    assert "Database check: ok" in restored.output
