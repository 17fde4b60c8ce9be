"""Fixtures: one app per test run on SQLite or a throw-away PostgreSQL (``PORTAL_TEST_DATABASE``), schema
made by the migrations, every test starting from empty tables (or from the demo company when marked
``demo_data``), a client with CSRF helpers, ``login_as(role)`` and a query counter."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from flask import Flask, current_app
from flask.testing import FlaskClient
from sqlalchemy import Integer, event, text

# The task queue's file lives with the test run, never in the working tree (a real worker started by a test
# reads it from the environment); tasks run at once (TASKS_IMMEDIATE) unless a test starts a real worker.
os.environ.setdefault(
    "PORTAL_HUEY_FILE", os.path.join(tempfile.mkdtemp(prefix="portal-huey-"), "huey.sqlite3")
)
os.environ.pop("PORTAL_REDIS_URL", None)

from portal import create_app  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import Base, User  # noqa: E402
from portal.services.storage import FileStore  # noqa: E402
from tests import factories  # noqa: E402

BACKEND = os.environ.get("PORTAL_TEST_DATABASE", "sqlite")
_CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "demo_data: the test reads the demo company loaded by seed-demo")


def pytest_report_header() -> str:
    return f"portal test database: {BACKEND}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if BACKEND == "postgresql":
        if os.environ.get("PORTAL_TEST_DATABASE_URL"):
            yield os.environ["PORTAL_TEST_DATABASE_URL"]
            return
        from tests.postgres_server import start_postgres

        server = start_postgres()
        try:
            yield server.url
        finally:
            server.stop()
    else:
        yield "sqlite:///" + str(tmp_path_factory.mktemp("db") / "portal-test.sqlite3")


def app_config(database_url: str, instance: Path, **extra: object) -> dict[str, object]:
    config: dict[str, object] = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": database_url,
        "LOGIN_RATE_LIMIT": "10000 per minute",
        # Thousands of sign-ins: the cheapest Argon2 parameters (the default takes 0.2–0.5 s a check).
        "PASSWORD_HASHING": "CHEAPEST",
        "UPLOAD_FOLDER": str(instance / "uploads"),
        "OUTBOX_FOLDER": str(instance / "outbox"),
        "BASE_URL": "https://portal.example.test",
        "SERVER_NAME": None,
        "TASKS_IMMEDIATE": True,
    }
    config.update(extra)
    return config


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    instance = tmp_path_factory.mktemp("instance")
    os.environ["PORTAL_INSTANCE_PATH"] = str(instance)
    application = create_app(app_config(database_url, instance))
    with application.app_context():
        from flask_migrate import upgrade

        upgrade()
    yield application
    with application.app_context():
        db.engine.dispose()


_loaded = {"state": "unknown"}


def _empty_tables() -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    # Children first; the two cyclic keys are ON DELETE SET NULL, so foreign keys can stay on. On PostgreSQL
    # in one round trip, ids starting again at 1: DELETE of a test's few rows is several times cheaper than
    # TRUNCATE, which makes every table's files anew (it was a tenth of the PostgreSQL run).
    deletes = "; ".join(f"DELETE FROM {table}" for table in tables)
    if db.engine.dialect.name == "postgresql":
        restart = ", ".join(
            f"setval(pg_get_serial_sequence('{t.name}', 'id'), 1, false)"
            for t in Base.metadata.sorted_tables
            if "id" in t.c
            and isinstance(t.c.id.type, Integer)
            and t.c.id.autoincrement in (True, "auto")
            and t.c.id.primary_key
        )
        db.session.connection().exec_driver_sql(f"{deletes}; SELECT {restart}")
    else:
        for table in tables:
            db.session.execute(text(f"DELETE FROM {table}"))
    db.session.commit()
    # The folder store's files went with their rows (the database store's went with the rows themselves).
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    if folder.exists():
        shutil.rmtree(folder)


# The demo company is seeded once per run (it takes most of a minute); later tests that want it get the
# same rows copied back in, the stored files' bytes with them (in the database, the default store). Tests
# of seeding itself compare with this one seeding rather than seeding again (DEMO_SEED, and the day it was
# seeded on).
_demo_snapshot: dict[str, list[dict]] = {}
DEMO_SEED = 2026
_demo_day: dict[str, date] = {}


def demo_rows() -> dict[str, list[dict]]:
    """Every table's rows of the demo company (seeded on first use, in the current app context)."""
    if not _demo_snapshot:
        from portal.demo.company import seed_demo
        from portal.uploads import file_store

        _empty_tables()
        _demo_day["today"] = datetime.now(UTC).date()
        seed_demo(seed=DEMO_SEED, today=_demo_day["today"], files=file_store())
        _demo_snapshot.update(_snapshot())
        _loaded["state"] = "demo"
    return _demo_snapshot


def demo_day() -> date:
    """The day the demo company was seeded on (its history is relative to it)."""
    demo_rows()
    return _demo_day["today"]


def _snapshot() -> dict[str, list[dict]]:
    return {
        table.name: [dict(row._mapping) for row in db.session.execute(table.select())]
        for table in Base.metadata.sorted_tables
    }


def restore_rows(snapshot: dict[str, list[dict]]) -> None:
    """Put snapshot rows back (into the current app's database, empty), ids and sequences as they were."""
    postgres = db.engine.dialect.name == "postgresql"
    # Two foreign keys form a cycle (accounts ⇄ users): check them at commit, not row by row.
    db.session.execute(
        text("SET LOCAL session_replication_role = replica" if postgres else "PRAGMA defer_foreign_keys = ON")
    )
    for table in Base.metadata.sorted_tables:
        if snapshot[table.name]:
            db.session.execute(table.insert(), snapshot[table.name])
    if postgres:
        for table in Base.metadata.sorted_tables:
            if "id" in table.c and isinstance(table.c.id.type, Integer) and snapshot[table.name]:
                next_id = f"(SELECT max(id) FROM {table.name})"
                db.session.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), {next_id})")
                )
    db.session.commit()


@pytest.fixture(autouse=True)
def app_ctx(app: Flask, request: pytest.FixtureRequest) -> Iterator[Flask]:
    """Every test runs inside an app context, on empty tables or on the demo company."""
    from portal import rate_limits
    from portal.page_cache import cache

    with app.app_context():
        rate_limits.reset(app)
        cache.clear()
        wants_demo = request.node.get_closest_marker("demo_data") is not None
        if wants_demo and _loaded["state"] != "demo":
            if _demo_snapshot:
                _empty_tables()
                restore_rows(_demo_snapshot)
            else:
                demo_rows()
            _loaded["state"] = "demo"
        elif not wants_demo:
            _empty_tables()
            _loaded["state"] = "empty"
        yield app
        db.session.remove()


@pytest.fixture
def demo_written() -> Iterator[None]:
    """For a demo-company test that changes it: the next test that wants the company gets a fresh copy."""
    yield
    _loaded["state"] = "written"


class PortalClient(FlaskClient):
    """The test client, plus the CSRF token a real form would carry.

    Each request runs in an app context of its own, as in production (the test's own context would otherwise
    share ``g``, and with it the signed-in user and the locale, across requests); afterwards the test's
    session forgets what it had loaded so that it sees what the request wrote."""

    def open(self, *args, **kwargs):  # noqa: ANN002, ANN003
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        db.session.expire_all()
        return response

    def csrf_token(self, path: str = "/login") -> str:
        page = self.get(path, follow_redirects=True).get_data(as_text=True)
        match = _CSRF.search(page)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def post_form(
        self,
        path: str,
        data: dict[str, object] | None = None,
        *,
        token_from: str = "/login",
        **kwargs: object,
    ):
        values = dict(data or {})
        values["csrf_token"] = self.csrf_token(token_from)
        return self.post(path, data=values, **kwargs)

    def htmx_get(self, path: str, headers: dict[str, str] | None = None, **kwargs: object):
        return self.get(path, headers={"HX-Request": "true", **(headers or {})}, **kwargs)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    app.test_client_class = PortalClient
    return app.test_client()


def sign_in(client: PortalClient, email: str, password: str = factories.PASSWORD, next_path: str = ""):
    return client.post_form("/login", {"email": email, "password": password, "next": next_path})


@pytest.fixture
def login_as(client: PortalClient):
    """``login_as("agent", departments=["sales"])`` creates such a user, signs the client in, returns it."""

    def _login(role_or_user: str | User, **overrides: object) -> User:
        user = (
            role_or_user if isinstance(role_or_user, User) else factories.make_user(role_or_user, **overrides)
        )
        response = sign_in(client, user.email)
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        return user

    return _login


@pytest.fixture
def count_queries():
    """``with count_queries() as counted: ...`` then ``counted.n`` is the number of SQL statements run."""

    class Counter:
        n = 0
        statements: list[str] = []

    @contextmanager
    def _count() -> Iterator[Counter]:
        counter = Counter()
        counter.statements = []

        def before(conn, cursor, statement, params, context, executemany):  # noqa: ANN001
            counter.n += 1
            counter.statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", before)
        try:
            yield counter
        finally:
            event.remove(db.engine, "before_cursor_execute", before)

    return _count


@pytest.fixture
def scratch_database_url(database_url: str) -> Iterator[str]:
    """A second database on the same server, empty for each test that builds and drops a schema itself (one
    test's restored backup is no other test's starting point)."""
    if database_url.startswith("sqlite"):
        path = Path(tempfile.mkdtemp()) / "scratch.sqlite3"
        yield f"sqlite:///{path}"
        return
    import psycopg

    base = database_url.replace("postgresql+psycopg://", "postgresql://")
    admin_url = base.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS portal_scratch")
        conn.execute("CREATE DATABASE portal_scratch")
    yield database_url.rsplit("/", 1)[0] + "/portal_scratch"


class SmtpInbox:
    """What a real SMTP server on loopback received: (envelope recipients, parsed message)."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], object]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802
        from email import message_from_bytes
        from email.policy import default

        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=default)))
        return "250 OK"

    def to(self, address: str) -> list:
        return [message for recipients, message in self.messages if address in recipients]


@pytest.fixture
def smtp_server(app: Flask) -> Iterator[SmtpInbox]:
    """aiosmtpd listening on a free loopback port, with the app's MAIL_* pointing at it."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = SmtpInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    saved = {key: app.config.get(key) for key in ("MAIL_HOST", "MAIL_PORT", "MAIL_TLS")}
    app.config.update(MAIL_HOST="127.0.0.1", MAIL_PORT=port, MAIL_TLS="none")
    try:
        yield inbox
    finally:
        app.config.update(saved)
        controller.stop()


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """Debian's redis-server on a free loopback port, for this test only."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is missing: make test installs it (apt-get install redis-server)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                server.kill()
                raise
            time.sleep(0.05)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def store(app: Flask) -> FileStore:
    """The configured file store (the database, as in production by default)."""
    from portal.uploads import file_store

    return file_store()


@pytest.fixture(params=["database", "filesystem"])
def each_store(app: Flask, request: pytest.FixtureRequest) -> Iterator[FileStore]:
    """The test once with each store configured for new files."""
    from portal.uploads import file_store

    saved = app.config["FILE_STORAGE"]
    app.config["FILE_STORAGE"] = request.param
    try:
        yield file_store()
    finally:
        app.config["FILE_STORAGE"] = saved


@pytest.fixture
def outbox(app: Flask) -> Iterator[Path]:
    """The outbox folder (no SMTP configured), emptied before the test."""
    import shutil

    folder = Path(app.config["OUTBOX_FOLDER"])
    shutil.rmtree(folder, ignore_errors=True)
    yield folder
