"""Staff screens: the department queues and the request workspace (views), relationship maintenance
(accounts), the pipeline before a contract (prospects, proposals), and mail that matched no request (mail)."""

from flask import Blueprint

bp = Blueprint("internal", __name__, url_prefix="/staff")
# The modules whose routes are on ``bp``; create_app imports them.
ROUTE_MODULES = ("views", "accounts", "prospects", "proposals", "mail")
