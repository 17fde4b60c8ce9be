"""Response hardening: security headers on everything, and a session cookie marked Secure over HTTPS."""

from __future__ import annotations

import time
from functools import lru_cache

from flask import Flask, Request, Response, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature, URLSafeTimedSerializer

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


@lru_cache(maxsize=4096)
def _verified(serializer: URLSafeTimedSerializer, cookie: str) -> tuple[str, int]:
    """A cookie's contents (as the session serializer's text) and when it was signed, if its signature holds
    (``BadSignature`` otherwise, which is not kept). Kept for the browsers a worker serves: checking the
    signature and unpacking the cookie again for every request was a tenth of a page served again."""
    data, signed_at = serializer.loads(cookie, return_timestamp=True)
    return serializer.serializer.dumps(data), int(signed_at.timestamp())


class PortalSessionInterface(SecureCookieSessionInterface):
    """Signed-cookie sessions whose cookie is Secure whenever the request came over HTTPS; a cookie seen
    before is not verified again (``_verified``), only its age is checked."""

    def __init__(self) -> None:
        self._serializer: tuple[tuple[object, ...], URLSafeTimedSerializer | None] | None = None

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        """Made once per set of keys, not twice per request (reading and writing the cookie)."""
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        if self._serializer is None or self._serializer[0] != keys:
            self._serializer = (keys, super().get_signing_serializer(app))
        return self._serializer[1]

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        cookie = request.cookies.get(self.get_cookie_name(app))
        if not cookie:
            return self.session_class()
        try:
            text, signed_at = _verified(serializer, cookie)
        except BadSignature:
            return self.session_class()
        age = int(time.time()) - signed_at
        if not 0 <= age <= app.permanent_session_lifetime.total_seconds():
            return self.session_class()  # as itsdangerous judges an expired (or future) signature
        return self.session_class(self.serializer.loads(text))  # fresh values: a session may change them


def _add_headers(response: Response) -> Response:
    # One pass over what the view set, then the rest appended: header by header, this cost a twentieth of a
    # page served from the page cache.
    present = {name.lower() for name, _value in response.headers.items()}
    wanted = list(SECURITY_HEADERS.items())
    if request.is_secure:
        wanted.append(("Strict-Transport-Security", "max-age=31536000"))
    if request.endpoint != "static":
        wanted.append(("Cache-Control", "no-store"))
    response.headers.extend([(name, value) for name, value in wanted if name.lower() not in present])
    return response


def init_app(app: Flask) -> None:
    app.session_interface = PortalSessionInterface()
    app.after_request(_add_headers)
