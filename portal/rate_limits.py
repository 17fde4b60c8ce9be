"""Rate limits on the few routes that carry one (signing in, asking for a reset link): ``@limited("20 per
minute")`` counts each client address in fixed windows with the ``limits`` library, in storage every worker
and host shares (``RATELIMIT_STORAGE_URI``: Redis when configured, else the portal's own database,
``limits_storage``). Over the limit the view does not run: 429, with ``Retry-After``.

Only a limited view pays for it. Flask-Limiter, used before, resolved limits in a hook on every request
although two routes carry one — about a fourteenth of a page served from the page cache.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cached_property, wraps
from typing import Any, TypeVar, cast

from flask import Flask, current_app, request
from limits import parse
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

from portal import limits_storage  # noqa: F401 - registers the portal-database:// storage

F = TypeVar("F", bound=Callable[..., Any])
_EXTENSION = "portal.rate_limits"


class _Limits:
    """An app's limiter; its storage is opened on the first limited request (making an app connects to
    nothing)."""

    def __init__(self, uri: str) -> None:
        self.uri = uri

    @cached_property
    def limiter(self) -> FixedWindowRateLimiter:
        return FixedWindowRateLimiter(cast(Storage, storage_from_string(self.uri)))


def init_app(app: Flask) -> None:
    app.extensions[_EXTENSION] = _Limits(app.config["RATELIMIT_STORAGE_URI"])


def reset(app: Flask) -> None:
    """Forget every count (the test suite, between tests)."""
    app.extensions[_EXTENSION].limiter.storage.reset()


def limited(limit: str | Callable[[], str]) -> Callable[[F], F]:
    """At most ``limit`` ("5 per minute", or a callable giving it, read per request) from one client address
    to this view; each request counts, whatever its answer."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_app.config["RATELIMIT_ENABLED"]:
                item = parse(limit() if callable(limit) else limit)
                limiter = current_app.extensions[_EXTENSION].limiter
                who = (request.endpoint or view.__name__, request.remote_addr or "")
                if not limiter.hit(item, *who):
                    reset_at = limiter.get_window_stats(item, *who).reset_time
                    raise TooManyRequests(retry_after=max(1, int(reset_at - time.time()) + 1))
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator
