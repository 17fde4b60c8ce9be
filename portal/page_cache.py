"""Busy pages served again without being rendered again, until the data changes or the minute turns.

A page marked ``@cached_page`` is kept per person and role, address, htmx mode, language and time zone, under
the data version (``changes``) read *before* the page is rendered, and the current minute (its SLA clocks
and "today" move with time). The mark goes *above* the view's permission decorator: a kept page is looked up
from the session's plain values (``access.signed_in``: one statement, no ORM user), and one is only ever
found under the key of the person and role for whom the permission decorator let it be rendered, at that
data version — any change to what they may see raises the version. Whatever is not found is rendered
through the permission decorator as usual.
Any commit that changes what pages show raises the version, so the next view renders afresh: a person never
sees a page older than their own last change, and nobody sees one older than a minute.

What differs per browser is kept out: the CSRF token is stored as a placeholder and filled in for each
answer; a page rendered with a flashed message, or one that changed the session, is not kept.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, wraps
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, request, session
from flask_caching import Cache
from flask_wtf.csrf import generate_csrf
from itsdangerous import URLSafeTimedSerializer

from portal import access, changes
from portal.extensions import db
from portal.i18n import locale_for
from portal.models.base import utcnow
from portal.services.identity.auth import SignedIn
from portal.timeutil import zone_of

F = TypeVar("F", bound=Callable[..., Any])
cache = Cache()
_TOKEN = "\x00csrf\x00"
_VARIES = ("HX-Request", "HX-Boosted", "HX-History-Restore-Request", "HX-Target")


def init_app(app: Flask) -> None:
    cache.init_app(app)


def _key(minute: str, who: SignedIn) -> str:
    headers = "|".join(request.headers.get(name, "") for name in _VARIES)
    version = changes.current(db.session())  # first: then the page is at least this new
    return (
        f"{request.endpoint}|{who.user_id}|{who.role}|{locale_for(who.locale, who.account_language)}|"
        f"{zone_of(who)}|{request.full_path}|{headers}|{version}|{minute}"
    )


@lru_cache(maxsize=1024)
def _signed(secret: str, raw: str, _minute: str) -> str:
    return URLSafeTimedSerializer(secret, salt="wtf-csrf-token").dumps(raw)


def _csrf_token(minute: str) -> str:
    """The browser's CSRF token as Flask-WTF makes it (and checks it: the tests post with it), signed once a
    minute per browser rather than for every answer — signing cost a twentieth of a page served again."""
    raw = session.get("csrf_token")
    if not isinstance(raw, str) or "csrf_token" in g:
        return generate_csrf()
    secret = current_app.config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key
    g.csrf_token = _signed(secret, raw, minute)
    return g.csrf_token


def cached_page(view: F) -> F:
    @wraps(view)
    def serve(*args: Any, **kwargs: Any) -> Any:
        who = access.signed_in() if current_app.config["PAGE_CACHE"] and "_flashes" not in session else None
        if who is None:  # nobody signed in (the permission decorator answers), or a message to show
            return view(*args, **kwargs)
        minute = utcnow().strftime("%Y%m%d%H%M")
        key = _key(minute, who)
        kept = cache.get(key)
        if kept is not None:
            status, headers, body = kept
            answer = Response(body.replace(_TOKEN, _csrf_token(minute)), status=status, headers=headers)
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
