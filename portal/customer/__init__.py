"""The customer portal: what a key account's people see of their own account (one blueprint, a module per
part of it)."""

from flask import Blueprint

bp = Blueprint("customer", __name__, url_prefix="/my")
# The modules whose routes are on ``bp``; create_app imports them.
ROUTE_MODULES = ("views", "filing", "contracts", "reports", "surveys", "users", "proposals")
