"""Service management: the numbers of all accounts and departments, read-only."""

from __future__ import annotations

from flask import Blueprint

from portal.access import roles_required
from portal.models.base import utcnow
from portal.rendering import render
from portal.services import overview

bp = Blueprint("manager", __name__, url_prefix="/manager")


@bp.get("/")
@roles_required("manager", "admin")
def home():
    return render("manager/home.html", home=overview.management_home(utcnow()))
