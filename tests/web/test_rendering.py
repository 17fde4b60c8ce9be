"""What htmx gets (portal/rendering.py), at the level of the response: a fragment only for an htmx request
that is not a boosted navigation or a history restore; a file never — a marked view answers htmx with a
redirect to itself (run once, for the real navigation), and an unmarked one is caught, redirected and
logged."""

from __future__ import annotations

import logging

from portal import create_app, web
from portal.rendering import sends_file
from tests.conftest import app_config

HTMX = {"HX-Request": "true"}


def test_a_history_restore_gets_the_whole_page(client, login_as):
    login_as("customer")
    fragment = client.get("/my/requests", headers=HTMX).get_data(as_text=True)
    restored = client.get("/my/requests", headers={**HTMX, "HX-History-Restore-Request": "true"})
    assert "<html" not in fragment and '<nav class="main-nav"' in restored.get_data(as_text=True)
    assert {"HX-Request", "HX-History-Restore-Request"} <= set(restored.vary)


def test_files_never_go_to_htmx(database_url, tmp_path, caplog):
    app = create_app(app_config(database_url, tmp_path))
    runs = []

    @app.get("/marked.csv")
    @sends_file
    def marked():
        runs.append("marked")
        return web.download("a,b\n", "marked.csv", "text/csv")

    @app.get("/forgotten.csv")
    def forgotten():
        return web.download("a,b\n", "forgotten.csv", "text/csv")

    client = app.test_client()
    boosted = {**HTMX, "HX-Boosted": "true"}
    answer = client.get("/marked.csv?x=1", headers=boosted)
    assert answer.headers["HX-Redirect"] == "/marked.csv?x=1" and not answer.data and runs == []
    assert client.get("/marked.csv?x=1").headers["Content-Disposition"].startswith("attachment")
    assert runs == ["marked"]  # built (and audited) once, for the navigation
    with caplog.at_level(logging.ERROR):
        caught = client.get("/forgotten.csv", headers=boosted)
    assert caught.headers["HX-Redirect"] == "/forgotten.csv" and b"a,b" not in caught.data
    assert any("mark it @sends_file" in r.getMessage() for r in caplog.records)
