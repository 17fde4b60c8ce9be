"""A crash mid-write leaves nothing: a store that fills while the second file is written (the upload
folder's disk, or the database refusing the file's rows), an exception after the first insert, a PDF that
fails to render — no committed row, no file (whole or partial) in either store. The faults are injected
where the bytes meet the disk or the database and where the work is done; everything else is the real
request through the real views and services."""

from __future__ import annotations

import errno
import io
from pathlib import Path

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from portal.extensions import db
from portal.models import Attachment, ServiceRequest, Statement, TimelineEvent
from portal.services import unit_of_work
from portal.services.reference_data import ensure_reference_data
from portal.services.reporting import exports, summaries
from portal.services.requests import sla
from portal.uploads import file_store
from tests.factories import department, make_request, make_user, stored_files
from tests.web.test_new_request import _on_site_form


@pytest.fixture(autouse=True)
def _reference_data():
    ensure_reference_data()


@pytest.fixture(params=["filesystem", "database"])
def full_disk(request, app, monkeypatch):
    """The second file written fills its store: in the folder, half of it reaches the disk, then ENOSPC;
    in the database, the INSERT of its bytes fails as a full disk makes it fail."""
    monkeypatch.setitem(app.config, "FILE_STORAGE", request.param)
    written: list[object] = []
    if request.param == "database":

        def inserting(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ARG001
            if statement.lstrip().upper().startswith("INSERT INTO FILE_CHUNKS"):
                written.append(statement)
                if len(written) == 2:
                    raise OperationalError(statement, parameters, OSError(errno.ENOSPC, "No space left"))

        event.listen(db.engine, "before_cursor_execute", inserting)
        yield written
        event.remove(db.engine, "before_cursor_execute", inserting)
        return
    yield from _full_folder(monkeypatch, written)


def _full_folder(monkeypatch, written):  # noqa: ANN001
    real_open = open
    written = []

    class FillingFile:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, data):
            self.handle.write(data[: len(data) // 2])
            self.handle.flush()
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.handle, name)

    def opening(path, mode="r", *args, **kwargs):
        handle = real_open(path, mode, *args, **kwargs)
        if "x" in mode or "w" in mode:
            written.append(Path(path))
            if len(written) == 2:
                return FillingFile(handle)
        return handle

    monkeypatch.setattr(unit_of_work, "open", opening, raising=False)
    yield written


def _counts():
    return (
        db.session.scalar(select(func.count(ServiceRequest.id))),
        db.session.scalar(select(func.count(TimelineEvent.id))),
        db.session.scalar(select(func.count(Attachment.id))),
    )


TWO_FILES = [(io.BytesIO(b"first log\n" * 50_000), "a.log"), (io.BytesIO(b"second log\n" * 50_000), "b.log")]


def _two_files():
    return [(io.BytesIO(f.getvalue()), name) for f, name in TWO_FILES]


def test_a_full_disk_on_the_second_file_of_a_reply_keeps_neither_reply_nor_file(client, login_as, full_disk):
    """The defect found: the reply was committed before its files, so the page said "Nothing was saved" under
    a saved reply, and a partial file of ~500 KB stayed on disk."""
    customer = login_as("customer")
    request = make_request(customer, department_id=department("after_sales").id)
    token = client.csrf_token(f"/my/requests/{request.id}")
    files_before, counts_before = stored_files(), _counts()
    with pytest.raises((OSError, OperationalError), match="No space left"):
        client.post(
            f"/my/requests/{request.id}/reply",
            data={"csrf_token": token, "body": "Logs attached", "files": _two_files()},
        )
    assert len(full_disk) == 2
    assert _counts() == counts_before and stored_files() == files_before


def test_a_full_disk_while_filing_a_request_keeps_nothing(client, login_as, full_disk):
    login_as("customer")
    token = client.csrf_token("/my/new/on_site/installation")
    files_before, counts_before = stored_files(), _counts()
    with pytest.raises((OSError, OperationalError), match="No space left"):
        client.post("/my/new/on_site/installation", data={**_on_site_form(token), "files": _two_files()})
    assert _counts() == counts_before and stored_files() == files_before


def test_a_full_disk_on_a_staff_upload_keeps_nothing(client, login_as, full_disk):
    agent = login_as("agent", departments=["after_sales"])
    request = make_request(make_user("customer"), department_id=department("after_sales").id)
    assert agent.role == "agent"
    token = client.csrf_token(f"/staff/requests/{request.id}")
    files_before, counts_before = stored_files(), _counts()
    with pytest.raises((OSError, OperationalError), match="No space left"):
        client.post(
            f"/staff/requests/{request.id}/attachments",
            data={"csrf_token": token, "files": _two_files()},
        )
    assert _counts() == counts_before and stored_files() == files_before


def test_an_exception_after_the_first_insert_keeps_nothing(client, login_as, monkeypatch):
    login_as("customer")
    token = client.csrf_token("/my/new/on_site/installation")

    def broken_clock(*args, **kwargs):
        raise RuntimeError("the SLA clock broke")

    monkeypatch.setattr(sla, "start_clock", broken_clock)
    counts_before, files_before = _counts(), stored_files()
    with pytest.raises(RuntimeError, match="clock broke"):
        client.post("/my/new/on_site/installation", data={**_on_site_form(token), "files": _two_files()})
    assert _counts() == counts_before and stored_files() == files_before


def test_a_statement_whose_pdf_fails_to_render_writes_nothing(app, monkeypatch):
    account = make_user("customer_admin").account

    def broken(*args, **kwargs):
        raise ValueError("the renderer broke")

    monkeypatch.setattr(summaries, "render_pdf", broken)
    files_before = stored_files()
    with pytest.raises(ValueError, match="renderer broke"):
        exports.issue_statement(account, *exports.month_of(account.created_at.date()), file_store())
    assert db.session.scalar(select(func.count(Statement.id))) == 0 and stored_files() == files_before
