"""What an htmx request gets, decided once for every view.

- An htmx request (not a boosted navigation, not a history restore) gets only the named block of the page
  template; everything else gets the whole page. A history-cache miss (``HX-History-Restore-Request``) is
  the browser going back or forward: it needs the whole page. Responses vary on both headers.
- A file is never answered to htmx, which would paste its bytes into the page: a view marked
  ``@sends_file`` answers an htmx request (a boosted link) with ``HX-Redirect`` to itself, so the browser
  fetches it as a normal navigation and saves it. The view runs once, for that navigation, so a download is
  built and audited once. Any file response to htmx that escaped the mark is turned into the same redirect
  (and logged), so no link can paste bytes again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, make_response, render_template, request
from flask.wrappers import Response
from flask_htmx.responses import HTMXResponseClientRedirect
from jinja2_fragments.flask import render_block

from portal.extensions import htmx

View = TypeVar("View", bound=Callable[..., Any])


def wants_fragment() -> bool:
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render(template: str, block: str | None = None, status: int = 200, **context: Any) -> Response:
    body = (
        render_block(template, block, **context)
        if block and wants_fragment()
        else render_template(template, **context)
    )
    response = make_response(body, status)
    response.vary.update(("HX-Request", "HX-History-Restore-Request"))
    return response


def sends_file(view: View) -> View:
    """Mark a view whose answer is a file (``web.send_stored``, ``web.download``)."""
    view.sends_file = True  # type: ignore[attr-defined]
    return view


def _navigate_to_file() -> Response | None:
    view = current_app.view_functions.get(request.endpoint or "")
    if htmx and request.method == "GET" and getattr(view, "sends_file", False):
        return HTMXResponseClientRedirect(request.full_path.rstrip("?"))
    return None


def _no_file_to_htmx(response: Response) -> Response:
    if htmx and response.headers.get("Content-Disposition", "").startswith("attachment"):
        current_app.logger.error("%s answered htmx with a file: mark it @sends_file", request.endpoint)
        return HTMXResponseClientRedirect(request.full_path.rstrip("?"))
    return response


def init_app(app: Flask) -> None:
    app.before_request(_navigate_to_file)
    app.after_request(_no_file_to_htmx)
