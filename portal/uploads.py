"""Where stored files live: ``UPLOAD_FOLDER``, by default ``instance/uploads`` — never under static/."""

from __future__ import annotations

from pathlib import Path

from flask import current_app


def upload_folder() -> Path:
    return Path(current_app.config.get("UPLOAD_FOLDER") or Path(current_app.instance_path) / "uploads")
