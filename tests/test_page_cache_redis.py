"""With Redis configured, a page one worker rendered is served by every other worker (two apps stand for two
workers or hosts) — and a change made through either is seen by both at once. Debian's redis-server, started
here on a free loopback port."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event

from portal import create_app, tasks
from portal.extensions import db
from portal.models import ServiceRequest
from portal.services.requests import workflow
from tests.conftest import PortalClient, app_config, sign_in
from tests.factories import department, make_request, make_user


def _worker(app, redis_url: str):  # noqa: ANN001, ANN202
    instance = Path(app.config["UPLOAD_FOLDER"]).parent
    worker = create_app(
        app_config(app.config["DATABASE_URL"], instance, REDIS_URL=redis_url, RATELIMIT_ENABLED=False)
    )
    worker.test_client_class = PortalClient
    return worker


def _statements(worker, client, path: str) -> tuple[int, str]:  # noqa: ANN001
    counted = [0]

    def count(*_args: object) -> None:
        counted[0] += 1

    with worker.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        page = client.get(path).get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return counted[0], page


@pytest.fixture
def workers(app, redis_url):  # noqa: ANN001, ANN201
    """Two apps on one database and one Redis. The task queue keeps its storage on a module-level object,
    which each app's init_app takes over: the test's own app gets it back."""
    try:
        yield _worker(app, redis_url), _worker(app, redis_url)
    finally:
        tasks.init_app(app)


def test_one_rendering_serves_every_worker_and_a_change_reaches_them_all(workers):
    one, two = workers
    lead = make_user("lead", departments=["after_sales"])
    request = make_request(make_user("customer"), department_id=department("after_sales").id)
    first, second = one.test_client(), two.test_client()
    sign_in(first, lead.email)
    sign_in(second, lead.email)
    first.get("/staff/queue")
    rendered, _ = _statements(one, first, "/staff/queue")  # rendered and kept in Redis
    served, page = _statements(two, second, "/staff/queue")  # the other worker renders nothing
    assert served == 1 < rendered  # the signed-in session, the data version read with it: nothing else
    assert f"request-{request.id}" in page and "\x00" not in page
    # A change made anywhere moves the version both workers read.
    workflow.assign(db.session.get(ServiceRequest, request.id), lead, lead, seen_version=1)
    _, after = _statements(two, second, "/staff/queue")
    assert lead.full_name in after.split(f'id="request-{request.id}"')[1].split("</tr>")[0]
