"""Two hosts, one database: two gunicorn groups, each with an instance folder (and upload folder) of its own,
as two machines behind a balancer without sticky sessions. A person signed in on A works on B; a file
uploaded on A downloads whole from B, and a file attached on B from A — the defect this guards against: a
file uploaded on one host answered 500 FileNotFoundError on the other, since files lived on each host's
disk. On this run's database (SQLite or PostgreSQL), on loopback."""

from __future__ import annotations

import hashlib
import secrets
import urllib.error
import urllib.request

from sqlalchemy import select

from portal.extensions import db
from portal.models import Attachment
from portal.services.reference_data import ensure_reference_data
from tests.factories import department, make_request, make_user
from tests.test_concurrency import Client, _serve


def _multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = secrets.token_hex(16)
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    for name, (filename, data) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        )
        parts.append(head.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _upload(client: Client, path: str, fields: dict[str, str], filename: str, data: bytes) -> int:
    body, content_type = _multipart(fields, {"files": (filename, data)})
    sent = urllib.request.Request(client.base + path, data=body, headers={"Content-Type": content_type})
    try:
        with client.opener.open(sent, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _download(client: Client, path: str) -> tuple[int, bytes]:
    try:
        with client.opener.open(client.base + path, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_a_file_uploaded_on_one_host_downloads_from_the_other(app, database_url, tmp_path):
    ensure_reference_data()
    customer = make_user("customer")
    agent = make_user("agent", departments=["after_sales"])
    request = make_request(customer, department_id=department("after_sales").id, status="in_progress")
    for host in ("a", "b"):
        (tmp_path / host).mkdir()
    host_a, base_a, log_a = _serve(database_url, tmp_path / "a", threads=2)
    host_b, base_b, log_b = _serve(database_url, tmp_path / "b", threads=2)
    try:
        person = Client(base_a)
        person.sign_in(customer.email)
        person.base = base_b  # the balancer sends the next request elsewhere: the session holds
        status, page = person.get(f"/my/requests/{request.id}")
        assert status == 200 and request.reference in page

        data = b"2026-12-03 07:00 link down on port 7\n" * 40_000  # ~1.5 MB: several chunks
        person.base = base_a
        csrf, _ = person.token(f"/my/requests/{request.id}")
        fields = {"csrf_token": csrf, "body": "The switch log"}
        assert _upload(person, f"/my/requests/{request.id}/reply", fields, "switch.log", data) == 303
        db.session.expire_all()
        stored = db.session.scalar(select(Attachment).where(Attachment.request_id == request.id))
        assert stored.storage == "database" and stored.sha256 == hashlib.sha256(data).hexdigest()

        person.base = base_b
        status, body = _download(person, f"/my/attachments/{stored.id}")
        assert status == 200 and body == data

        staff = Client(base_b)
        staff.sign_in(agent.email)
        csrf, _ = staff.token(f"/staff/requests/{request.id}")
        attached = _upload(
            staff, f"/staff/requests/{request.id}/attachments", {"csrf_token": csrf}, "fix.txt", b"the fix\n"
        )
        assert attached == 303
        db.session.expire_all()
        fix = db.session.scalar(select(Attachment).where(Attachment.original_name == "fix.txt"))
        person.base = base_a
        assert _download(person, f"/my/attachments/{fix.id}") == (200, b"the fix\n")
    finally:
        for host in (host_a, host_b):
            host.terminate()
            host.wait(timeout=30)
    assert not list((tmp_path / "a" / "uploads").glob("*")) and not list(
        (tmp_path / "b" / "uploads").glob("*")
    )
    for log in (log_a, log_b):
        assert "Traceback" not in log.read_text(), log.read_text()[-3000:]
