"""Metrics for Prometheus: only for the configured token (and not there at all without one), in the text
format a Prometheus scrape reads (parsed here by prometheus-client's own parser), with requests by endpoint
and status, latencies, sign-in refusals and what the queue and the database hold — and under gunicorn the
figures of every worker summed, whichever worker answers the scrape."""

from __future__ import annotations

import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from prometheus_client.parser import text_string_to_metric_families

from portal.extensions import db
from portal.models import ExportJob, Notification
from tests.factories import make_user
from tests.test_concurrency import _serve

TOKEN = "scrape-token-for-tests"


def _families(text: str) -> dict:
    return {family.name: family for family in text_string_to_metric_families(text)}


def _value(families: dict, name: str, sample: str, **labels: str) -> float:
    return sum(
        s.value
        for s in families[name].samples
        if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items())
    )


@pytest.fixture
def token(app, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)
    return {"Authorization": f"Bearer {TOKEN}"}


def test_without_a_token_configured_there_is_no_metrics_page(client):
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


def test_only_the_token_reads_the_metrics(client, token):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    answer = client.get("/metrics", headers=token)
    assert answer.status_code == 200 and answer.content_type.startswith("text/plain")
    assert "Set-Cookie" not in answer.headers


def test_requests_latencies_refusals_and_the_shared_state_are_counted(client, token):
    user = make_user("customer")
    before = _families(client.get("/metrics", headers=token).get_data(as_text=True))
    for _ in range(3):
        client.get("/login")
    client.get("/no/such/page")
    for _ in range(5):  # the fifth failure locks the address; the sixth attempt meets the lock
        client.post_form("/login", {"email": user.email, "password": "wrong"})
    client.post_form("/login", {"email": user.email, "password": "wrong"})
    db.session.add(
        ExportJob(
            requested_by_id=user.id,
            period_start=user.created_at.date(),
            period_end=user.created_at.date(),
            state="failed",
        )
    )
    db.session.add(Notification(user_id=user.id, kind="request_resolved", email_state="failed"))
    db.session.commit()
    after = _families(client.get("/metrics", headers=token).get_data(as_text=True))

    def grew(name: str, sample: str, **labels: str) -> float:
        return _value(after, name, sample, **labels) - _value(before, name, sample, **labels)

    assert (
        grew("portal_http_requests", "portal_http_requests_total", endpoint="auth.login", status="200") >= 3
    )
    assert grew("portal_http_requests", "portal_http_requests_total", endpoint="unmatched", status="404") == 1
    assert (
        grew(
            "portal_http_request_duration_seconds",
            "portal_http_request_duration_seconds_count",
            endpoint="auth.login",
        )
        >= 3
    )
    assert grew("portal_sign_in_refusals", "portal_sign_in_refusals_total", reason="bad_credentials") == 4
    assert grew("portal_sign_in_refusals", "portal_sign_in_refusals_total", reason="locked") == 2
    assert _value(after, "portal_export_jobs", "portal_export_jobs", state="failed") == 1
    assert _value(after, "portal_emails", "portal_emails", state="failed") == 1
    assert _value(after, "portal_tasks_waiting", "portal_tasks_waiting") >= 0
    assert not any(
        s.labels.get("endpoint") == "metrics.scrape" for s in after["portal_http_requests"].samples
    )


def test_under_gunicorn_a_scrape_sums_every_workers_figures(app, database_url, tmp_path, monkeypatch):
    shared = tmp_path / "metrics"
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(shared))
    server, base, log = _serve(database_url, tmp_path, threads=1, METRICS_TOKEN=TOKEN)
    total = "portal_http_requests", "portal_http_requests_total"

    def scrape() -> float:
        sent = urllib.request.Request(base + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        with urllib.request.urlopen(sent, timeout=30) as answer:
            return _value(_families(answer.read().decode()), *total, endpoint="health.healthz")

    try:
        start = scrape()  # none: the start-up waited for the server on /login (a probe may still be counting)
        sent = 0
        # Eight at once, so that the four single-threaded workers share them (one after another, a single
        # worker can win every accept); more rounds only until a second worker has counted (at most ten).
        with ThreadPoolExecutor(8) as pool:
            while sent < 400 and (sent == 0 or len(list(shared.glob("counter_*.db"))) < 2):
                list(
                    pool.map(
                        lambda _: urllib.request.urlopen(base + "/healthz", timeout=30).close(), range(40)
                    )
                )
                sent += 40
        scraped = {scrape() - start for _ in range(8)}  # whichever worker answers, it reports them all
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert scraped == {float(sent)}, (scraped, sent)
    assert len(list(shared.glob("counter_*.db"))) > 1, "more than one worker counted"
    assert "Traceback" not in log.read_text()
