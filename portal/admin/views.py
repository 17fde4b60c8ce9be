"""System administration: accounts, users, rules and policies."""

from __future__ import annotations

from flask import Blueprint

from portal.access import roles_required
from portal.rendering import render
from portal.services import overview

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
@roles_required("admin")
def home():
    return render("admin/home.html", home=overview.admin_home())
