"""Finance: contracts and entitlement use of all accounts."""

from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

from portal.access import roles_required
from portal.rendering import render
from portal.services import overview
from portal.timeutil import today_for

bp = Blueprint("finance", __name__, url_prefix="/finance")


@bp.get("/")
@roles_required("finance", "admin")
def home():
    return render("finance/home.html", home=overview.finance_home(today_for(current_user)))
