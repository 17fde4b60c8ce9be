"""The customer portal: what a key account's people see of their own account (one blueprint, a module per
part of it)."""

from flask import Blueprint

bp = Blueprint("customer", __name__, url_prefix="/my")

from portal.customer import contracts, filing, reports, surveys, users, views  # noqa: E402,F401  (routes register on bp)
