"""Where to send someone after signing in or switching language: only ever a page of this site."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import url_for


def safe_next(target: str | None) -> str | None:
    """The target if it is a path on this site, else None. Refuses other hosts, schemes, protocol-relative
    (``//evil``) and backslash tricks (``/\\evil``) that browsers treat as another host."""
    if not target or len(target) > 2000:
        return None
    target = target.strip()
    if (
        any(ch in target for ch in ("\\", "\r", "\n", "\t"))
        or not target.startswith("/")
        or target.startswith("//")
    ):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    if target.endswith("?"):
        target = target[:-1]
    return target


def login_url_for(next_path: str | None) -> str:
    target = safe_next(next_path)
    return url_for("auth.login", next=target) if target else url_for("auth.login")
