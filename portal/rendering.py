"""Page or fragment: one decision for every view. An htmx request (not a boosted navigation) gets only the
named block of the page template; everything else gets the whole page. Responses vary on HX-Request."""

from __future__ import annotations

from typing import Any

from flask import make_response, render_template
from flask.wrappers import Response
from jinja2_fragments.flask import render_block

from portal.extensions import htmx


def wants_fragment() -> bool:
    return bool(htmx) and not htmx.boosted


def render(template: str, block: str | None = None, status: int = 200, **context: Any) -> Response:
    body = (
        render_block(template, block, **context)
        if block and wants_fragment()
        else render_template(template, **context)
    )
    response = make_response(body, status)
    response.vary.add("HX-Request")
    return response
