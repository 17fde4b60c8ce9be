"""Busy pages served again without being rendered again, until the data changes or the minute turns.

A page marked ``@cached_page`` (under its permission decorator, so that nobody reaches a page they may not
see) is kept per person, address, htmx mode, language and time zone, under the data version (``changes``)
read *before* the page is rendered, and the current minute (its SLA clocks and "today" move with time).
Any commit that changes what pages show raises the version, so the next view renders afresh: a person never
sees a page older than their own last change, and nobody sees one older than a minute.

What differs per browser is kept out: the CSRF token is stored as a placeholder and filled in for each
answer; a page rendered with a flashed message, or one that changed the session, is not kept.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, request, session
from flask_caching import Cache
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from portal import changes
from portal.extensions import db
from portal.i18n import current_language
from portal.models.base import utcnow
from portal.timeutil import zone_of

F = TypeVar("F", bound=Callable[..., Any])
cache = Cache()
_TOKEN = "\x00csrf\x00"
_VARIES = ("HX-Request", "HX-Boosted", "HX-History-Restore-Request", "HX-Target")


def init_app(app: Flask) -> None:
    cache.init_app(app)


def _key() -> str:
    headers = "|".join(request.headers.get(name, "") for name in _VARIES)
    version = changes.current(db.session())  # first: then the page is at least this new
    minute = utcnow().strftime("%Y%m%d%H%M")
    return (
        f"{request.endpoint}|{current_user.id}|{current_user.role}|{current_language()}|"
        f"{zone_of(current_user)}|{request.full_path}|{headers}|{version}|{minute}"
    )


def cached_page(view: F) -> F:
    @wraps(view)
    def serve(*args: Any, **kwargs: Any) -> Any:
        if not current_app.config["PAGE_CACHE"] or "_flashes" in session:
            return view(*args, **kwargs)
        key = _key()
        kept = cache.get(key)
        if kept is not None:
            status, headers, body = kept
            answer = Response(body.replace(_TOKEN, generate_csrf()), status=status, headers=headers)
            answer.headers["X-Page-Cache"] = "hit"
            return answer
        response = current_app.make_response(view(*args, **kwargs))
        if response.status_code == 200 and response.mimetype == "text/html" and not session.modified:
            body = response.get_data(as_text=True)
            token = g.get("csrf_token")
            headers = {k: v for k, v in response.headers.items() if k != "Content-Length"}
            cache.set(key, (200, headers, body.replace(token, _TOKEN) if token else body))
            response.headers["X-Page-Cache"] = "kept"
        else:
            response.headers["X-Page-Cache"] = "not kept"
        return response

    serve.page_cache = True  # type: ignore[attr-defined]
    return serve  # type: ignore[return-value]
