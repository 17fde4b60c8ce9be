"""What a load balancer or an orchestrator asks of each web process: ``/healthz`` — the process lives and
answers — and ``/readyz`` — the database and the task queue answer too, so it can take work. Neither reads
a session or sets a cookie, and neither says more than each part's ``ok`` or ``unavailable`` (why is in the
log, for the operator)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from flask.wrappers import Response
from sqlalchemy import text

from portal.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify(status="ok")


def _database() -> bool:
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means "not ready"; the reason goes to the log
        current_app.logger.exception("readiness: the database does not answer")
        return False
    return True


def _queue() -> bool:
    from portal.tasks import huey

    try:
        huey.storage.queue_size()
    except Exception:  # noqa: BLE001
        current_app.logger.exception("readiness: the task queue does not answer")
        return False
    return True


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    parts = {"database": _database(), "queue": _queue()}
    ready = all(parts.values())
    body = {name: "ok" if fine else "unavailable" for name, fine in parts.items()}
    return jsonify(status="ok" if ready else "unavailable", **body), 200 if ready else 503
