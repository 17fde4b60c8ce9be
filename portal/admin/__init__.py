"""Administration. The back office: accounts and their people (accounts), staff and departments (people),
contracts (contracts: for finance and account managers too), the accounts' workbook in and out (imports).
Then routing rules, automatic assignment, SLA targets, the business calendar (views), survey templates and
the return-visit cadence (engagement), the audit log (audit)."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
# The modules whose routes are on ``bp``; create_app imports them.
ROUTE_MODULES = ("views", "engagement", "audit", "accounts", "people", "contracts", "imports")
