"""Stored files: checked against an allow-list by their bytes (never the name or the browser's word alone),
kept outside static/ under a random name, hashed, and always handed out as downloads."""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from datetime import datetime

import filetype
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal import permissions
from portal.extensions import db
from portal.models import Attachment, ServiceRequest, TimelineEvent, User
from portal.models.base import utcnow
from portal.services import audit
from portal.services.errors import InvalidInput, NotAllowed
from portal.services.storage import FileStore
from portal.services.unit_of_work import use_case

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
MAX_NAME = 200


def safe_name(filename: str) -> str:
    """A file name fit to store and to hand back: the last path part only; no control characters (NUL,
    tab, CR, LF …), no invisible format characters (bidirectional overrides that make ``exe.pdf`` read as
    ``fdp.exe``, zero-width spaces) and no line separators; at most ``MAX_NAME`` characters, shortened in
    the middle of the name so that its extension stays."""
    name = unicodedata.normalize("NFC", filename.replace("\\", "/")).rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp"))
    name = " ".join(name.split()).strip(". ")
    if len(name) > MAX_NAME:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            name = stem[: MAX_NAME - len(extension) - 1].rstrip(". ") + "." + extension
        else:
            name = name[:MAX_NAME]
    return name


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
    """(safe original name, content type), or ``InvalidInput`` saying what is wrong. A refused file is a
    security event (``audit.note_refusal``), kept although the upload's use case is undone."""
    name = safe_name(upload.filename)
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if not name or extension not in ALLOWED:
        _refuse(name, "kind")
        raise InvalidInput(
            "files",
            str(_l("Only these kinds of file are accepted: %(kinds)s.", kinds=", ".join(sorted(ALLOWED)))),
        )
    if len(upload.data) > max_bytes:
        _refuse(name, "too_large")
        raise InvalidInput(
            "files", str(_l("The file is larger than %(limit)s.", limit=readable_size(max_bytes)))
        )
    if not upload.data:
        raise InvalidInput("files", str(_l("The file is empty.")))
    content_type = sniff(extension, upload.data)
    if content_type is None:
        _refuse(name, "contents")
        raise InvalidInput(
            "files", str(_l("The file's contents do not match its name (.%(ext)s).", ext=extension))
        )
    return name, content_type


def _refuse(name: str, reason: str) -> None:
    audit.note_refusal("security.upload_refused", file=name, reason=reason)


@use_case
def attach_to_request(
    request: ServiceRequest,
    uploads: list[Upload],
    uploader: User,
    *,
    files: FileStore,
    max_bytes: int,
    internal: bool = False,
) -> list[Attachment]:
    """Check every file first, then store them all with one timeline event each; nothing is kept if any
    file is refused or cannot be stored."""
    if permissions.is_customer(uploader):
        if internal or not permissions.can_act_as_customer(uploader, request):
            raise NotAllowed(str(_l("Only staff can write internal notes.")))
    elif not permissions.can_work_request(uploader, request):
        raise NotAllowed(str(_l("Only staff of the request's department can work on it.")))
    if not uploads:
        raise InvalidInput("files", str(_l("Choose at least one file.")))
    checked = [(upload, *check(upload, max_bytes)) for upload in uploads]
    now = utcnow()
    stored: list[Attachment] = []
    for upload, name, content_type in checked:
        attachment = store_file(
            upload.data,
            name,
            content_type,
            files,
            account_id=request.account_id,
            request_id=request.id,
            uploader_id=uploader.id,
            at=now,
        )
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
    return stored


def store_file(
    data: bytes,
    name: str,
    content_type: str,
    files: FileStore,
    *,
    account_id: int | None,
    request_id: int | None = None,
    uploader_id: int | None = None,
    at: datetime | None = None,
) -> Attachment:
    """Keep the bytes in the file store and add their Attachment row, both part of the current
    transaction: if it rolls back, neither stays (``storage``)."""
    stored_name, kind = files.put(data)
    attachment = Attachment(
        request_id=request_id,
        account_id=account_id,
        original_name=name,
        stored_name=stored_name,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        content_type=content_type,
        storage=kind,
        uploaded_by_id=uploader_id,
        created_at=at or utcnow(),
    )
    db.session.add(attachment)
    db.session.flush()
    return attachment


def is_internal(attachment: Attachment) -> bool:
    """Whether a request's file was attached as internal (or is not on the timeline at all)."""
    internal = db.session.scalar(
        select(TimelineEvent.internal).where(
            TimelineEvent.request_id == attachment.request_id,
            TimelineEvent.kind.in_(("attachment", "deliverable_published")),
            TimelineEvent.data["attachment_id"].as_integer() == attachment.id,
        )
    )
    return internal is not False
