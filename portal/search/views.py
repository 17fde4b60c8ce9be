"""The one search box, for everyone signed in: what they may see that holds the words they typed."""

from __future__ import annotations

from flask import Blueprint, request
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from portal.rendering import render
from portal.services.search import finding
from portal.timeutil import today_for

bp = Blueprint("search", __name__, url_prefix="/search")


@bp.get("/")
@login_required
def search() -> Response:
    """The page with its box; typing asks for the results block alone (htmx), and the address follows."""
    query = request.args.get("q", "")
    results = finding.search(current_user, query) if query.strip() else None
    return render(
        "search/page.html", block="results", query=query, results=results, today=today_for(current_user)
    )
