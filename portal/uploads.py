"""The configured file store (``FILE_STORAGE``: the database, or the folder ``UPLOAD_FOLDER``, by default
``instance/uploads`` — never under static/); and the files a form's file field brought, as the services
take them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import current_app

from portal.services.requests.attachments import Upload
from portal.services.storage import FileStore


def upload_folder() -> Path:
    return Path(current_app.config.get("UPLOAD_FOLDER") or Path(current_app.instance_path) / "uploads")


def file_store() -> FileStore:
    return FileStore(current_app.config["FILE_STORAGE"], upload_folder())


def uploads_of(field: Any) -> list[Upload]:
    """The files chosen in a (multiple) file field; an empty choice brings none."""
    return [Upload(f.filename or "", f.read()) for f in (field.data or []) if f and f.filename]
