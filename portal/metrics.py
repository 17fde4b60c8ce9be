"""Metrics in Prometheus's text format at ``/metrics``, for a scraper that presents ``METRICS_TOKEN`` (as
``Authorization: Bearer …``); without a token configured the address does not exist (404), so nothing is
ever public by default.

What is counted here, per web process: requests by endpoint, method and status, with a latency histogram
by endpoint (the route's name, never the raw path — a scan of random addresses adds no series), and sign-in
refusals (bad credentials; an address locked). Under gunicorn every worker writes its figures to
``PROMETHEUS_MULTIPROC_DIR`` (``gunicorn.conf.py`` makes one) and a scrape of any worker sums them all —
prometheus-client's multiprocess mode. What the database knows is read at each scrape, so it is the same
from every host: tasks waiting for a worker, emails by delivery state (sent, pending, failed — given up on),
export jobs by state."""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator

from flask import Blueprint, Flask, abort, current_app, request
from flask.wrappers import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from portal import logs

bp = Blueprint("metrics", __name__)

REQUESTS = Counter(
    "portal_http_requests",
    "Requests answered, by endpoint, method and status.",
    ["endpoint", "method", "status"],
)
LATENCY = Histogram(
    "portal_http_request_duration_seconds",
    "Time to answer a request, by endpoint.",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SIGN_IN_REFUSALS = Counter(
    "portal_sign_in_refusals",
    "Sign-ins refused: bad_credentials, or locked (the address is locked).",
    ["reason"],
)


def sign_in_refused(locked: bool) -> None:
    SIGN_IN_REFUSALS.labels("locked" if locked else "bad_credentials").inc()


def _end(response: Response) -> Response:
    endpoint = request.endpoint or "unmatched"
    if endpoint != "metrics.scrape":
        REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
        took = logs.elapsed()  # the request's clock is the log's (portal/logs.py starts it)
        if took is not None:
            LATENCY.labels(endpoint).observe(took)
    return response


class WorkCollector(Collector):
    """The shared state, read from the queue and the database at each scrape."""

    def collect(self) -> Iterator[Metric]:
        from portal.services.reporting import exports
        from portal.tasks import huey

        waiting = GaugeMetricFamily("portal_tasks_waiting", "Tasks in the queue waiting for a worker.")
        waiting.add_metric([], huey.pending_count())
        yield waiting
        emails = GaugeMetricFamily(
            "portal_emails", "Notification emails by delivery state (failed: given up on).", labels=["state"]
        )
        counts = exports.email_counts()
        for state in ("pending", "sent", "failed"):
            emails.add_metric([state], counts.get(state, 0))
        yield emails
        jobs = GaugeMetricFamily(
            "portal_export_jobs", "Export jobs (the summaries ZIP) by state.", labels=["state"]
        )
        counts = exports.job_counts()
        for state in ("queued", "running", "done", "failed"):
            jobs.add_metric([state], counts.get(state, 0))
        yield jobs


def _registry() -> CollectorRegistry:
    """Every worker's counters when gunicorn's workers share a metrics folder, else this process's."""
    registry = CollectorRegistry(auto_describe=True)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        for collector in (REQUESTS, LATENCY, SIGN_IN_REFUSALS):
            registry.register(collector)
    registry.register(WorkCollector())
    return registry


@bp.get("/metrics")
def scrape() -> Response:
    token = current_app.config.get("METRICS_TOKEN") or ""
    given = request.headers.get("Authorization", "")
    if not token:
        abort(404)
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return Response("unauthorised\n", 401, {"WWW-Authenticate": 'Bearer realm="metrics"'})
    return Response(generate_latest(_registry()), mimetype=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    app.after_request(_end)
