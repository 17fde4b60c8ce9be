"""The portal as it runs on several machines, all on loopback: a PostgreSQL and a Redis started here, two
groups of gunicorn workers (two hosts, each with an instance folder of its own), two Huey workers on the
shared queue (one with the periodic jobs), and clients behind a round-robin balancer without sticky
sessions — every request goes to the other host.

What it guards against, each seen on two hosts before: a file uploaded on one host answered 500 on the
other; a worker killed in the middle of the all-accounts ZIP left it "running 4/43" for ever; the second
host's statement run crashed with IntegrityError; and the app must come back by itself after the database
restarts. Bounded: about 35 s; at most a few minutes if the ZIP's takeover waits for the sweep's minute.

It starts a PostgreSQL of its own (the run's server must not be restarted under the other tests), so it
runs once, in the PostgreSQL run of ``make test``."""

from __future__ import annotations

import functools
import hashlib
import http.client
import io
import itertools
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from portal import create_app, tasks
from portal.extensions import db
from portal.models import Attachment, ExportJob, Notification, Statement
from portal.services.reference_data import ensure_reference_data
from portal.timeutil import utcnow
from tests.conftest import BACKEND, app_config
from tests.factories import department, make_account, make_request, make_user
from tests.postgres_server import PostgresServer, start_postgres
from tests.test_concurrency import ROOT, Client, _NoRedirect, _serve, host_env
from tests.test_two_hosts import _download, _upload
from tests.test_worker import _start_worker

pytestmark = pytest.mark.skipif(
    BACKEND != "postgresql", reason="runs in the PostgreSQL run: it starts a PostgreSQL of its own"
)
LIMIT = 8  # failed sign-ins a minute from one address, counted across both hosts
ACCOUNTS = 10
FLASK = str(Path(sys.executable).parent / "flask")


class _From(urllib.request.HTTPHandler):
    """Connections from a chosen loopback address (127.0.0.2 is a client of its own to the rate limiter)."""

    def __init__(self, source: str) -> None:
        super().__init__()
        self.source = source

    def http_open(self, req):  # noqa: ANN001, ANN201
        connection = functools.partial(http.client.HTTPConnection, source_address=(self.source, 0))
        return self.do_open(connection, req)


class RoundRobin(Client):
    """A person behind the balancer: one cookie jar, and each request sent to the next host."""

    def __init__(self, hosts: list[str], source: str = "127.0.0.1") -> None:
        super().__init__(hosts[0])
        self._next = itertools.cycle(hosts)
        self.last = ""
        self.opener = urllib.request.build_opener(
            _From(source), urllib.request.HTTPCookieProcessor(), _NoRedirect()
        )

    @property  # type: ignore[override]
    def base(self) -> str:
        self.last = next(self._next)
        return self.last

    @base.setter
    def base(self, _value: str) -> None:
        pass  # the balancer chooses


class Cluster:
    def __init__(self, root: Path, database: PostgresServer, redis_url: str) -> None:
        self.root, self.database, self.redis_url = root, database, redis_url
        self.hosts: list[tuple[subprocess.Popen[bytes], str, Path]] = []
        self.workers: list[subprocess.Popen[bytes]] = []

    @property
    def bases(self) -> list[str]:
        return [base for _, base, _ in self.hosts]

    def settings(self) -> dict[str, str]:
        return {"REDIS_URL": self.redis_url, "EXPORT_LEASE_SECONDS": "2"}

    def serve(self) -> None:
        for name in ("a", "b"):
            (self.root / name).mkdir()
            self.hosts.append(
                _serve(
                    self.database.url,
                    self.root / name,
                    rate_limit=f"{LIMIT} per minute",
                    threads=4,
                    workers=2,
                    **self.settings(),
                )
            )

    def worker(self, name: str, *, periodic: bool) -> subprocess.Popen[bytes]:
        folder = self.root / f"worker-{name}"
        folder.mkdir()
        worker = _start_worker(
            self.database.url, folder, periodic=periodic, log=folder / "worker.log", **self.settings()
        )
        self.workers.append(worker)
        return worker

    def run_job(self, host: str, job: str) -> subprocess.Popen[str]:
        """`flask run-job` as an operator (or a host's cron) runs it on that host."""
        env = host_env(self.database.url, self.root / host, **self.settings())
        return subprocess.Popen(
            [FLASK, "--app", "portal", "run-job", job],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def logs(self) -> str:
        found = [log.read_text(errors="replace")[-4000:] for *_, log in self.hosts]
        found += [p.read_text(errors="replace")[-4000:] for p in self.root.glob("worker-*/worker.log")]
        return "\n----\n".join(found)

    def stop(self) -> None:
        for process in [*self.workers, *(host for host, *_ in self.hosts)]:
            if process.poll() is None:
                process.terminate()
        for process in [*self.workers, *(host for host, *_ in self.hosts)]:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def cluster(app: Flask, redis_url: str, tmp_path: Path) -> Iterator[Cluster]:
    """The database, Redis, and this test's own app on them (for making the world and reading it back);
    the run's app gets its queue back afterwards (it lives on a module-level object)."""
    database = start_postgres()
    here = create_app(app_config(database.url, tmp_path / "test-instance", REDIS_URL=redis_url))
    cluster = Cluster(tmp_path, database, redis_url)
    try:
        with here.app_context():
            from flask_migrate import upgrade

            upgrade()
            yield cluster
    finally:
        cluster.stop()
        with here.app_context():
            db.engine.dispose()
        database.stop()
        tasks.init_app(app)


def _wait_for(what: str, check, seconds: float, cluster: Cluster) -> None:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {seconds} s\n{cluster.logs()}")
        time.sleep(0.3)
        db.session.expire_all()


def _job(job_id: int) -> ExportJob:
    db.session.expire_all()
    found = db.session.get(ExportJob, job_id)
    assert found is not None
    return found


def test_the_portal_on_two_hosts_with_two_workers(cluster):
    ensure_reference_data()
    after_sales = department("after_sales").id
    accounts = [make_account(name=f"多主机客户 {n:02d}") for n in range(ACCOUNTS)]
    customer = make_user("customer", account=accounts[0])
    agent = make_user("agent", departments=["after_sales"])
    lead = make_user("lead", departments=["after_sales"])
    finance = make_user("finance")
    open_request = make_request(customer, department_id=after_sales, status="in_progress", assignee=agent)
    past = utcnow() - timedelta(hours=1)
    overdue = make_request(
        customer,
        department_id=after_sales,
        status="in_progress",
        assignee=agent,
        title="Overdue",
        resolution_at_risk_at=past - timedelta(hours=2),
        resolution_due_at=past,
    )
    cluster.serve()
    first_worker = cluster.worker("one", periodic=False)

    # Signed in through one host, working through the other; a file uploaded on one downloads from the other.
    person = RoundRobin(cluster.bases)
    person.sign_in(customer.email)
    data = b"2026-12-03 link down on port 7\n" * 30_000  # ~0.9 MB: two chunks
    csrf, _ = person.token(f"/my/requests/{open_request.id}")
    fields = {"csrf_token": csrf, "body": "The switch log"}
    assert _upload(person, f"/my/requests/{open_request.id}/reply", fields, "switch.log", data) == 303
    uploaded_on = person.last
    db.session.expire_all()
    stored = db.session.scalar(select(Attachment).where(Attachment.original_name == "switch.log"))
    assert stored is not None and stored.sha256 == hashlib.sha256(data).hexdigest()
    assert _download(person, f"/my/attachments/{stored.id}") == (200, data)
    assert person.last != uploaded_on

    # The all-accounts ZIP: its worker is killed midway, another worker's lease sweep takes it over.
    accountant = RoundRobin(cluster.bases)
    accountant.sign_in(finance.email)
    csrf, _ = accountant.token("/finance/")
    status, location = accountant.send("/finance/exports", {"csrf_token": csrf, "period": "last_month"})
    assert status == 303, location
    job_id = int(location.rstrip("/").rsplit("/", 1)[1])
    _wait_for("the first worker builds", lambda: _job(job_id).done >= 2, 90, cluster)
    assert _job(job_id).state == "running"
    first_worker.send_signal(signal.SIGKILL)
    first_worker.wait(timeout=20)
    cluster.worker("periodic", periodic=True)
    cluster.worker("two", periodic=False)

    # Meanwhile: the sign-in rate limit is one count across both hosts (failed sign-ins from 127.0.0.2).
    stranger = RoundRobin(cluster.bases, source="127.0.0.2")
    answers: Counter[tuple[str, int]] = Counter()
    csrf, _ = stranger.token("/login")  # one form's token; the attempts alternate between the hosts
    for _ in range(3 * LIMIT):
        status = stranger.post("/login", {"csrf_token": csrf, "email": "who@example.test", "password": "x"})
        answers[stranger.last, status] += 1
    accepted = sum(n for (_, status), n in answers.items() if status != 429)
    assert accepted == LIMIT, answers
    assert {host for host, status in answers if status == 429} == set(cluster.bases), answers

    # Meanwhile: the periodic jobs run at once on both hosts (as each host's cron or an operator would).
    runs = [cluster.run_job(host, job) for job in ("monthly-statements", "sla-sweep") for host in ("a", "b")]
    for run in runs:
        output, _ = run.communicate(timeout=120)
        assert run.returncode == 0, output
    db.session.expire_all()
    issued = db.session.execute(
        select(Statement.account_id, func.count(), func.max(Statement.version)).group_by(Statement.account_id)
    ).all()
    assert sorted(tuple(row) for row in issued) == sorted((account.id, 1, 1) for account in accounts)
    told = db.session.scalars(
        select(Notification.user_id).where(
            Notification.kind == "sla_breached", Notification.request_id == overdue.id
        )
    ).all()
    assert told == [lead.id]

    # The ZIP completes, once, and downloads through either host.
    _wait_for("the ZIP is taken over and done", lambda: _job(job_id).state == "done", 150, cluster)
    done = _job(job_id)
    assert (done.attempt, done.done, done.total) == (2, ACCOUNTS, ACCOUNTS)
    status, body = _download(accountant, f"/finance/exports/{job_id}/download")
    assert status == 200 and len(zipfile.ZipFile(io.BytesIO(body)).namelist()) == ACCOUNTS
    assert _download(accountant, f"/finance/exports/{job_id}/download") == (200, body)  # the other host
    zips = select(func.count()).select_from(Attachment).where(Attachment.content_type == "application/zip")
    assert db.session.scalar(zips) == 1

    # PostgreSQL restarts under load; both hosts answer again by themselves.
    staff = [RoundRobin(cluster.bases) for _ in range(2)]
    for client in staff:
        client.sign_in(agent.email)
    seen: list[tuple[float, str, int | str]] = []
    stop = threading.Event()

    def load(client: RoundRobin) -> None:
        while not stop.is_set():
            try:
                status, _ = client.get("/staff/queue")
            except OSError as error:  # noqa: PERF203
                status = type(error).__name__
            seen.append((time.monotonic(), client.last, status))

    db.session.close()  # this test's own connection would not survive the restart
    threads = [threading.Thread(target=load, args=(client,)) for client in staff]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.5)
        down_at = time.monotonic()
        cluster.database.stop(remove=False)
        time.sleep(1)
        cluster.database.start()
        up_at = time.monotonic()
        time.sleep(4)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=70)
    before = [status for at, _, status in seen if at < down_at]
    assert before and set(before) == {200}
    during = {status for at, _, status in seen if down_at <= at < up_at}
    assert during <= {200, 500, 503}, during  # an error page, never a dropped connection or a hang
    recovered = {
        host: [at for at, where, status in seen if where == host and status == 200 and at > up_at]
        for host in cluster.bases
    }
    assert all(recovered.values()), recovered
    last = [status for at, _, status in seen if at > up_at + 2]
    assert last and set(last) == {200}, Counter(last)
    for host, *_ in cluster.hosts:
        assert host.poll() is None  # nobody restarted the portal
    slowest = max(min(ats) for ats in recovered.values()) - up_at
    outage = Counter(status for at, _, status in seen if down_at <= at < up_at)
    print(f"\nafter the restart both hosts answered within {slowest:.2f} s; during it: {dict(outage)}")
