"""Downloads from the file store: streamed a chunk at a time whatever the file's size, from either store,
and checked on the way — a missing or damaged file answers a page with a reference (logged once) before
anything is sent, and a large damaged one breaks off before its end rather than arriving wrong."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import update

from portal.extensions import db
from portal.models import FileChunk
from portal.services.reference_data import ensure_reference_data
from portal.services.requests import attachments
from portal.services.storage import CHUNK, FileUnreadable
from tests.factories import department, make_request

BIG = (b"a line of a log\n" * CHUNK)[: CHUNK * 2 + 17]  # three chunks of text, the last one short


@pytest.fixture
def mine(login_as):
    ensure_reference_data()
    me = login_as("customer")
    request = make_request(me, department_id=department("after_sales").id)
    return me, request


def _attach(request, me, store, data, name="trace.log"):  # noqa: ANN001, ANN202
    (attachment,) = attachments.attach_to_request(
        request, [attachments.Upload(name, data)], me, files=store, max_bytes=len(data) + 1
    )
    db.session.commit()
    return attachment


def test_a_large_file_streams_from_either_store_as_a_download(client, mine, each_store):
    me, request = mine
    data = BIG
    attachment = _attach(request, me, each_store, data, "服务器日志.log")
    response = client.get(f"/my/attachments/{attachment.id}")
    assert response.status_code == 200 and response.is_streamed
    assert response.headers["Content-Length"] == str(len(data))
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    parts = list(response.response)
    assert max(len(p) for p in parts) <= CHUNK and len(parts) == 3  # never the whole file at once
    assert hashlib.sha256(b"".join(parts)).hexdigest() == attachment.sha256


def _damage_database_chunk(attachment, seq: int) -> None:  # noqa: ANN001
    db.session.execute(
        update(FileChunk)
        .where(FileChunk.stored_name == attachment.stored_name, FileChunk.seq == seq)
        .values(data=b"X" * (CHUNK if seq < 2 else 17))
    )
    db.session.commit()


def test_a_damaged_small_file_answers_a_page_with_a_reference_and_is_logged_once(
    app, client, mine, store, caplog
):
    me, request = mine
    attachment = _attach(request, me, store, b"a short log\n")
    _damage_database_chunk(attachment, 0)
    caplog.clear()
    response = client.get(f"/my/attachments/{attachment.id}", headers={"Accept-Language": "en"})
    page = response.get_data(as_text=True)
    assert response.status_code == 500 and "Content-Disposition" not in response.headers
    assert "This file cannot be read just now" in page and response.headers["X-Request-ID"] in page
    logged = [r for r in caplog.records if "unreadable" in r.getMessage()]
    assert len(logged) == 1 and attachment.stored_name in logged[0].getMessage()


def test_a_missing_file_answers_the_same_page(client, mine, store):
    me, request = mine
    attachment = _attach(request, me, store, b"soon gone")
    db.session.execute(FileChunk.__table__.delete())
    db.session.commit()
    response = client.get(f"/my/attachments/{attachment.id}", headers={"Accept-Language": "en"})
    assert response.status_code == 500 and "This file cannot be read just now" in response.get_data(
        as_text=True
    )


def test_a_damaged_large_file_breaks_off_before_its_end(client, mine, store):
    me, request = mine
    attachment = _attach(request, me, store, BIG)
    _damage_database_chunk(attachment, 1)
    response = client.get(f"/my/attachments/{attachment.id}")
    assert response.status_code == 200  # the first chunk was sound and is on its way
    received = []
    with pytest.raises(FileUnreadable):
        for part in response.response:
            received.append(part)
    assert sum(map(len, received)) < len(BIG)
