"""The file store: the same behaviour from the database and from a folder — a file kept with its row or not
at all, read back a chunk at a time and checked against its SHA-256, moved between the stores one file at a
time with each copy verified, and checked for rows without files and files without rows."""

from __future__ import annotations

import hashlib
import os

import pytest
from sqlalchemy import func, select, update

from portal.extensions import db
from portal.models import Attachment, FileChunk, InboundMail
from portal.services.requests.attachments import store_file
from portal.services.storage import CHUNK, FileStore, FileUnreadable
from portal.services.unit_of_work import use_case
from tests.factories import stored_files

BIG = os.urandom(CHUNK * 2 + 1000)  # three chunks, the last one short


def _keep(store: FileStore, data: bytes, name: str = "big.bin") -> Attachment:
    attachment = store_file(data, name, "application/octet-stream", store, account_id=None)
    db.session.commit()
    return attachment


def _damage(store: FileStore, attachment: Attachment, at: int = 10) -> None:
    """Flip one byte where the file lives, as a failing disk would."""
    if attachment.storage == "filesystem":
        path = store.folder / attachment.stored_name
        data = bytearray(path.read_bytes())
        data[at] ^= 0xFF
        path.write_bytes(bytes(data))
        return
    seq, offset = divmod(at, CHUNK)
    chunk = db.session.scalar(
        select(FileChunk.data).where(FileChunk.stored_name == attachment.stored_name, FileChunk.seq == seq)
    )
    changed = bytearray(chunk)
    changed[offset] ^= 0xFF
    db.session.execute(
        update(FileChunk)
        .where(FileChunk.stored_name == attachment.stored_name, FileChunk.seq == seq)
        .values(data=bytes(changed))
    )
    db.session.commit()


def test_a_file_is_kept_and_read_back_a_chunk_at_a_time(each_store):
    attachment = _keep(each_store, BIG)
    assert attachment.storage == each_store.kind and attachment.size_bytes == len(BIG)
    assert attachment.sha256 == hashlib.sha256(BIG).hexdigest()
    chunks = list(each_store.chunks(attachment))
    assert [len(c) for c in chunks] == [CHUNK, CHUNK, 1000] and b"".join(chunks) == BIG
    assert each_store.exists(attachment)
    empty = _keep(each_store, b"", "empty.txt")
    assert each_store.read(empty) == b""
    if each_store.kind == "database":
        assert (
            db.session.scalar(select(func.count()).where(FileChunk.stored_name == attachment.stored_name))
            == 3
        )
        assert not (each_store.folder / attachment.stored_name).exists()
    else:
        assert db.session.scalar(select(func.count(FileChunk.stored_name))) == 0


def test_a_rolled_back_transaction_keeps_neither_row_nor_file(each_store):
    @use_case
    def keep_then_fail() -> None:
        store_file(BIG, "big.bin", "application/octet-stream", each_store, account_id=None)
        raise RuntimeError("after the file")

    with pytest.raises(RuntimeError):
        keep_then_fail()
    assert db.session.scalar(select(func.count(Attachment.id))) == 0 and stored_files() == set()


def test_a_damaged_file_is_never_handed_out_whole(each_store):
    big, small = _keep(each_store, BIG), _keep(each_store, b"a short log\n", "log.txt")
    _damage(each_store, big, at=CHUNK + 5)  # in the middle chunk
    _damage(each_store, small, at=3)
    handed = []
    with pytest.raises(FileUnreadable, match="damaged"):
        for chunk in each_store.chunks(big):
            handed.append(chunk)
    assert len(handed) == 2 and sum(map(len, handed)) < len(BIG)  # the last chunk is held back
    with pytest.raises(FileUnreadable, match="damaged"):
        next(each_store.chunks(small))  # one chunk: refused before anything is given


def test_a_missing_file_is_reported_as_missing(each_store):
    attachment = _keep(each_store, b"soon gone")
    if attachment.storage == "filesystem":
        (each_store.folder / attachment.stored_name).unlink()
    else:
        db.session.execute(FileChunk.__table__.delete())
        db.session.commit()
    assert not each_store.exists(attachment)
    with pytest.raises(FileUnreadable, match="missing"):
        next(each_store.chunks(attachment))


def test_files_move_between_the_stores_each_verified_and_the_old_copy_goes(store):
    folder_store = FileStore("filesystem", store.folder)
    in_database = [_keep(store, BIG), _keep(store, b"small", "s.txt")]
    in_folder = _keep(folder_store, b"already on disk", "d.txt")
    moved = store.migrate("filesystem")
    assert (moved.count, moved.failed) == (2, [])
    db.session.expire_all()
    assert {a.storage for a in db.session.scalars(select(Attachment))} == {"filesystem"}
    assert db.session.scalar(select(func.count(FileChunk.stored_name))) == 0
    assert store.read(in_database[0]) == BIG and store.read(in_folder) == b"already on disk"
    assert store.migrate("filesystem").count == 0  # nothing left to move

    assert store.migrate("database").count == 3
    db.session.expire_all()
    assert {a.storage for a in db.session.scalars(select(Attachment))} == {"database"}
    assert list(store.folder.iterdir()) == []
    assert store.read(in_database[0]) == BIG and store.check().ok


def test_a_damaged_file_is_reported_and_left_where_it_is(store):
    good, bad = _keep(store, b"good"), _keep(store, b"bad one", "bad.txt")
    _damage(store, bad, at=1)
    moved = store.migrate("filesystem")
    assert moved.count == 1 and len(moved.failed) == 1 and bad.stored_name in moved.failed[0]
    db.session.expire_all()
    assert (db.session.get(Attachment, good.id).storage, db.session.get(Attachment, bad.id).storage) == (
        "filesystem",
        "database",
    )


def test_the_check_finds_damaged_and_missing_files_and_files_without_rows(store):
    folder_store = FileStore("filesystem", store.folder)
    _keep(store, b"fine")
    damaged, gone = _keep(store, b"damaged"), _keep(folder_store, b"gone", "gone.txt")
    _damage(store, damaged, at=0)
    (store.folder / gone.stored_name).unlink()
    (store.folder / "stray.bin").write_bytes(b"no row")
    db.session.add(FileChunk(stored_name="f" * 32, seq=0, data=b"no row either"))
    db.session.commit()
    found = store.check()
    assert found.files == 3 and not found.ok
    problems = sorted(line.split("): ")[-1] for line in found.unreadable)
    assert [p.split(":")[0] for p in problems] == ["damaged", "missing"]
    assert damaged.stored_name in " ".join(found.unreadable) and gone.stored_name in " ".join(
        found.unreadable
    )
    assert sorted(found.orphans) == [str(store.folder / "stray.bin"), "database: " + "f" * 32]


def test_the_storage_commands(app, store):
    _keep(store, BIG)
    runner = app.test_cli_runner()
    moved = runner.invoke(args=["storage", "migrate", "--to", "filesystem"])
    assert moved.exit_code == 0, moved.output
    assert "Moved 1 stored files to the filesystem store" in moved.output
    assert "FILE_STORAGE is database: new files still go there" in moved.output
    checked = runner.invoke(args=["storage", "check"])
    assert (
        checked.exit_code == 0 and "1 stored files checked: 0 unreadable, 0 without a row" in checked.output
    )
    (store.folder / "stray.bin").write_bytes(b"x")
    checked = runner.invoke(args=["storage", "check"])
    assert checked.exit_code != 0 and "without a row" in checked.output and "stray.bin" in checked.output
    wrong = runner.invoke(args=["storage", "migrate", "--to", "s3"])
    assert wrong.exit_code != 0


def test_an_unknown_store_is_refused_in_the_configuration():
    from portal import create_app

    with pytest.raises(ValueError, match="FILE_STORAGE"):
        create_app({"TESTING": True, "SECRET_KEY": "x", "FILE_STORAGE": "s3"})


def test_received_mail_is_a_stored_file_like_any_other(store):
    """The mail the portal keeps (unmatched, malformed, and every other) is moved, read through and checked
    with the attachments: it is not a file without a row."""
    from portal.services.messaging import inbound

    _keep(store, b"an attachment")
    raw = b"From: someone@nowhere.example\r\nSubject: hello\r\nMessage-ID: <m1@nowhere.example>\r\n\r\nHi\r\n"
    mail = inbound.receive(raw, files=store, max_bytes=10**6)
    db.session.commit()
    assert store.check().ok and store.check().files == 2
    assert store.migrate("filesystem").count == 2
    db.session.expire_all()
    moved = db.session.get(InboundMail, mail.id)
    assert moved.storage == "filesystem" and store.read(moved) == raw
    assert db.session.scalar(select(func.count(FileChunk.stored_name))) == 0 and store.check().ok
    _damage(store, moved, at=0)
    assert "InboundMail" in " ".join(store.check().unreadable)
