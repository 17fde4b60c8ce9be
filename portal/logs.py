"""What the portal writes to its log: one line per request — its id, the signed-in user's id, route, method,
status and duration — and one per unhandled error with its trace, once. JSON by default (``LOG_FORMAT``:
``json`` | ``text``), to standard error, where gunicorn or the service manager collects it.

The request id is taken from the ``X-Request-ID`` a proxy sent (when it looks like one) or made here; it is
sent back in the answer's ``X-Request-ID``, stamped on every line logged during the request, and shown on
the error page so that a person can quote it."""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid

from flask import Flask, g, has_request_context, request
from flask.logging import default_handler
from flask.wrappers import Response
from pythonjsonlogger.json import JsonFormatter

_INCOMING_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
requests_log = logging.getLogger("portal.requests")


def request_id() -> str:
    """The current request's id ('' outside a request)."""
    return g.get("request_id", "") if has_request_context() else ""


class _RequestId(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            record.request_id = request_id()
        return True


def _begin() -> None:
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _INCOMING_ID.fullmatch(incoming) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def elapsed() -> float | None:
    """Seconds since this request began (None outside one, or before ``_begin``)."""
    started = g.get("request_started") if has_request_context() else None
    return time.perf_counter() - started if started is not None else None


def _signed_in_user_id() -> int | None:
    # Only a user the request has already loaded (``current_user``, or the session's plain values the page
    # cache read: ``access.signed_in``): logging must not cost a statement of its own.
    user = g.get("_login_user")
    if user is not None and user.is_authenticated:
        return getattr(user, "id", None)
    return getattr(g.get("signed_in"), "user_id", None)


def _end(response: Response) -> Response:
    response.headers["X-Request-ID"] = g.get("request_id", "")
    took = elapsed()
    requests_log.info(
        "%s %s %s",
        request.method,
        request.path,
        response.status_code,
        extra={
            "user_id": _signed_in_user_id(),
            "method": request.method,
            "route": request.url_rule.rule if request.url_rule else None,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round(took * 1000, 1) if took is not None else None,
        },
    )
    return response


def init_app(app: Flask) -> None:
    """One handler, on the root logger: the portal's lines (``portal``, ``portal.requests``, the services')
    at ``LOG_LEVEL``, the libraries' warnings — each once (Flask's own handler is taken off its logger)."""
    handler = logging.StreamHandler(sys.stderr)
    if app.config["LOG_FORMAT"] == "json":
        handler.setFormatter(
            JsonFormatter(
                "{asctime}{levelname}{name}{message}{request_id}",
                style="{",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    handler.addFilter(_RequestId())
    handler.portal_handler = True  # type: ignore[attr-defined]
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "portal_handler", False)]:
        root.removeHandler(old)  # an app made again (tests, the worker) replaces it
    root.addHandler(handler)
    app.logger.removeHandler(default_handler)
    logging.getLogger("portal").setLevel(app.config["LOG_LEVEL"])
    app.before_request(_begin)
    app.after_request(_end)
