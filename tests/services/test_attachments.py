"""Uploads: the allow-list is checked against the bytes, nothing half-stored, files outside static/."""

from __future__ import annotations

import io
import zipfile

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Attachment, TimelineEvent
from portal.services.errors import InvalidInput
from portal.services.reference_data import ensure_reference_data
from portal.services.requests import attachments
from portal.services.requests.attachments import Upload
from portal.services.requests.workflow import NotAllowed
from tests.factories import department, make_request, make_user, stored_files

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "name, data",
    [
        ("report.pdf", PDF),
        ("shot.PNG", PNG),
        ("notes.txt", "日志".encode()),
        ("spec.docx", docx()),
        ("data.csv", b"a,b\n1,2\n"),
    ],
)
def test_allowed_files_pass_by_their_bytes(name, data):
    assert attachments.check(Upload(name, data), 1024 * 1024)[0] == name


@pytest.mark.parametrize(
    "name, data, why",
    [
        ("evil.html", b"<script>alert(1)</script>", "只接受"),
        ("fake.pdf", b"<html>not a pdf</html>", "不符"),
        ("fake.png", PDF, "不符"),
        ("binary.txt", b"\x00\x01\x02", "不符"),
        ("noextension", PDF, "只接受"),
        ("empty.pdf", b"", "是空的"),
        ("big.pdf", PDF + b"x" * 2000, "超过 1 KB"),
    ],
)
def test_refused_files_say_why(name, data, why):
    # Outside a request the portal speaks its default language, Chinese.
    with pytest.raises(InvalidInput, match=why):
        attachments.check(Upload(name, data), 1024)


def test_names_lose_their_folders():
    assert attachments.check(Upload("../../etc/passwd.txt", b"x"), 100)[0] == "passwd.txt"
    assert attachments.check(Upload("C:\\Users\\x\\report.pdf", PDF), 100)[0] == "report.pdf"


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("re\x00port.pdf", "report.pdf"),
        ("line\r\nbreak\tname.pdf", "linebreakname.pdf"),
        ("invoice\u202egpj.pdf", "invoicegpj.pdf"),  # a right-to-left override hides the real extension
        ("\u2066zero\u200bwidth\u2069.pdf", "zerowidth.pdf"),
        ("  spaced   out  .pdf", "spaced out .pdf"),
        ("合同 扫描件.pdf", "合同 扫描件.pdf"),
    ],
)
def test_names_lose_control_and_invisible_characters(given, kept):
    assert attachments.safe_name(given) == kept
    assert attachments.check(Upload(given, PDF), 100)[0] == kept


def test_a_long_name_is_shortened_keeping_its_extension():
    name, _ = attachments.check(Upload("报" * 300 + ".pdf", PDF), 100)
    assert len(name) == attachments.MAX_NAME and name.endswith("报.pdf")
    assert attachments.safe_name("x" * 300) == "x" * attachments.MAX_NAME


def test_attaching_stores_hashes_and_records_or_keeps_nothing(each_store):
    ensure_reference_data()
    agent = make_user("agent", departments=["after_sales"])
    request = make_request(make_user("customer"), department_id=department("after_sales").id)
    stored = attachments.attach_to_request(
        request, [Upload("a.pdf", PDF), Upload("b.png", PNG)], agent, files=each_store, max_bytes=10_000
    )
    assert [a.content_type for a in stored] == ["application/pdf", "image/png"]
    assert {a.storage for a in stored} == {each_store.kind}
    assert each_store.read(stored[0]) == PDF and len(stored[0].sha256) == 64
    assert db.session.scalar(select(func.count()).where(TimelineEvent.kind == "attachment")) == 2
    # One bad file in the batch: nothing of the batch is stored.
    with pytest.raises(InvalidInput):
        attachments.attach_to_request(
            request,
            [Upload("c.pdf", PDF), Upload("d.pdf", b"nope")],
            agent,
            files=each_store,
            max_bytes=10_000,
        )
    assert db.session.scalar(select(func.count(Attachment.id))) == 2
    assert stored_files() == {a.stored_name for a in stored}


def test_only_people_of_the_request_may_attach(store):
    ensure_reference_data()
    request = make_request(make_user("customer"), department_id=department("after_sales").id)
    with pytest.raises(NotAllowed):
        attachments.attach_to_request(
            request,
            [Upload("a.pdf", PDF)],
            make_user("agent", departments=["sales"]),
            files=store,
            max_bytes=10_000,
        )
    with pytest.raises(NotAllowed):
        attachments.attach_to_request(
            request, [Upload("a.pdf", PDF)], make_user("customer"), files=store, max_bytes=10_000
        )
