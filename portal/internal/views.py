"""Staff screens: agents and leads work the requests of their departments."""

from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

from portal.access import staff_required
from portal.rendering import render
from portal.services import overview

bp = Blueprint("internal", __name__, url_prefix="/staff")


@bp.get("/")
@staff_required
def home():
    return render("internal/home.html", home=overview.staff_home(current_user))
