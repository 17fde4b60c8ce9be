"""Stored files: checked against an allow-list by their bytes (never the name or the browser's word alone),
kept outside static/ under a random name, hashed, and always handed out as downloads."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import filetype
from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.models import Attachment, ServiceRequest, TimelineEvent, User
from portal.models.base import utcnow
from portal.services.errors import InvalidInput

# extension -> the content type the bytes must show
ALLOWED = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "txt": "text/plain",
    "log": "text/plain",
    "csv": "text/csv",
}
TEXT_EXTENSIONS = {"txt", "log", "csv"}


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


def readable_size(size: int) -> str:
    return f"{size / 1048576:.0f} MB" if size >= 1048576 else f"{max(size // 1024, 1)} KB"


def sniff(extension: str, data: bytes) -> str | None:
    """The content type the bytes prove for this extension, or None if they do not match it."""
    if extension in TEXT_EXTENSIONS:
        if b"\x00" in data:
            return None
        for encoding in ("utf-8", "gb18030"):
            try:
                data.decode(encoding)
                return ALLOWED[extension]
            except UnicodeDecodeError:
                continue
        return None
    kind = filetype.guess(data)
    if kind is None or kind.mime != ALLOWED.get(extension):
        return None
    return kind.mime


def check(upload: Upload, max_bytes: int) -> tuple[str, str]:
    """(safe original name, content type), or ``InvalidInput`` saying what is wrong."""
    name = Path(upload.filename.replace("\\", "/")).name.strip()[:200]
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if not name or extension not in ALLOWED:
        raise InvalidInput(
            "files",
            str(_l("Only these kinds of file are accepted: %(kinds)s.", kinds=", ".join(sorted(ALLOWED)))),
        )
    if len(upload.data) > max_bytes:
        raise InvalidInput(
            "files", str(_l("The file is larger than %(limit)s.", limit=readable_size(max_bytes)))
        )
    if not upload.data:
        raise InvalidInput("files", str(_l("The file is empty.")))
    content_type = sniff(extension, upload.data)
    if content_type is None:
        raise InvalidInput(
            "files", str(_l("The file's contents do not match its name (.%(ext)s).", ext=extension))
        )
    return name, content_type


def attach_to_request(
    request: ServiceRequest,
    uploads: list[Upload],
    uploader: User,
    *,
    folder: Path,
    max_bytes: int,
    internal: bool = False,
) -> list[Attachment]:
    """Check every file first, then store them all with one timeline event each; nothing is kept if any
    file is refused."""
    from portal.services.workflow import NotAllowed, can_work

    if uploader.account_id is not None:
        if uploader.account_id != request.account_id or internal:
            raise NotAllowed(str(_l("Only staff can write internal notes.")))
    elif not can_work(uploader, request):
        raise NotAllowed(str(_l("Only staff of the request's department can work on it.")))
    if not uploads:
        raise InvalidInput("files", str(_l("Choose at least one file.")))
    checked = [(upload, *check(upload, max_bytes)) for upload in uploads]
    folder.mkdir(parents=True, exist_ok=True)
    now = utcnow()
    stored: list[Attachment] = []
    written: list[Path] = []
    try:
        for upload, name, content_type in checked:
            stored_name = secrets.token_hex(16)
            path = folder / stored_name
            path.write_bytes(upload.data)
            written.append(path)
            attachment = Attachment(
                request_id=request.id,
                account_id=request.account_id,
                original_name=name,
                stored_name=stored_name,
                size_bytes=len(upload.data),
                sha256=hashlib.sha256(upload.data).hexdigest(),
                content_type=content_type,
                uploaded_by_id=uploader.id,
                created_at=now,
            )
            db.session.add(attachment)
            db.session.flush()
            db.session.add(
                TimelineEvent(
                    request_id=request.id,
                    kind="attachment",
                    actor_id=uploader.id,
                    internal=internal,
                    body=name,
                    data={"attachment_id": attachment.id},
                    created_at=now,
                )
            )
            stored.append(attachment)
        db.session.commit()
    except Exception:
        db.session.rollback()
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return stored


@contextmanager
def stored_file(
    data: bytes,
    name: str,
    content_type: str,
    folder: Path,
    *,
    account_id: int | None,
    request_id: int | None = None,
    uploader_id: int | None = None,
    at: datetime | None = None,
) -> Iterator[Attachment]:
    """Write the bytes under a random name and add their Attachment row for the caller to use and commit
    inside the block; if anything in the block fails, the transaction is rolled back and the file removed."""
    folder.mkdir(parents=True, exist_ok=True)
    stored_name = secrets.token_hex(16)
    path = folder / stored_name
    path.write_bytes(data)
    try:
        attachment = Attachment(
            request_id=request_id,
            account_id=account_id,
            original_name=name,
            stored_name=stored_name,
            size_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            content_type=content_type,
            uploaded_by_id=uploader_id,
            created_at=at or utcnow(),
        )
        db.session.add(attachment)
        db.session.flush()
        yield attachment
    except BaseException:
        db.session.rollback()
        path.unlink(missing_ok=True)
        raise


def path_of(attachment: Attachment, folder: Path) -> Path:
    return folder / attachment.stored_name
