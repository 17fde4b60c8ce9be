"""What an operator relies on: /healthz and /readyz without a session and without saying why, and the log —
one JSON line per request with its id (taken from X-Request-ID or made, sent back, shown on the error page)
and one per unhandled error with its trace, once."""

from __future__ import annotations

import json
import re

from portal import create_app
from tests.conftest import app_config


def test_health_and_readiness_answer_without_a_session(client):
    for path in ("/healthz", "/readyz"):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert answer.get_json()["status"] == "ok"
        assert "Set-Cookie" not in answer.headers
    assert client.get("/readyz").get_json() == {"status": "ok", "database": "ok", "queue": "ok"}


def test_readiness_says_unavailable_and_nothing_more_when_the_database_is_gone(tmp_path):
    broken = create_app(
        app_config(
            f"sqlite:///{tmp_path}/no/such/dir/portal.sqlite3", tmp_path, HUEY_FILE=str(tmp_path / "q")
        )
    )
    answer = broken.test_client().get("/readyz")
    assert answer.status_code == 503
    assert answer.get_json() == {"status": "unavailable", "database": "unavailable", "queue": "ok"}
    assert broken.test_client().get("/healthz").status_code == 200  # the process itself lives


def _lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_one_json_line_per_request_with_its_id(database_url, tmp_path, capsys):
    app = create_app(app_config(database_url, tmp_path, LOG_FORMAT="json"))
    client = app.test_client()
    capsys.readouterr()
    given = client.get("/login", headers={"X-Request-ID": "lb-7f3a.1"})
    made = client.get("/login", headers={"X-Request-ID": "not an id; DROP TABLE"})
    lines = [x for x in _lines(capsys.readouterr().err) if x["logger"] == "portal.requests"]
    assert given.headers["X-Request-ID"] == "lb-7f3a.1"
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-ID"])
    assert [(x["request_id"], x["route"], x["method"], x["status"]) for x in lines] == [
        ("lb-7f3a.1", "/login", "GET", 200),
        (made.headers["X-Request-ID"], "/login", "GET", 200),
    ]
    assert all(isinstance(x["duration_ms"], float) and x["user_id"] is None for x in lines)


def test_an_unhandled_error_is_logged_once_with_its_trace_and_its_id_is_on_the_page(
    database_url, tmp_path, capsys
):
    app = create_app(app_config(database_url, tmp_path, LOG_FORMAT="json", PROPAGATE_EXCEPTIONS=False))

    def boom() -> str:
        raise RuntimeError("kaput-in-the-log")

    app.add_url_rule("/boom", view_func=boom)
    capsys.readouterr()
    answer = app.test_client().get("/boom", headers={"Accept-Language": "en"})
    err = capsys.readouterr().err
    rid = answer.headers["X-Request-ID"]
    assert answer.status_code == 500 and rid in answer.get_data(as_text=True)
    errors = [x for x in _lines(err) if x["level"] == "ERROR"]
    assert len(errors) == 1 and errors[0]["request_id"] == rid
    assert "RuntimeError: kaput-in-the-log" in errors[0]["exc_info"]
    assert len([line for line in err.splitlines() if "kaput-in-the-log" in line]) == 1
