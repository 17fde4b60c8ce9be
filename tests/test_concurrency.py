"""Writers at once against a real server: gunicorn with 4 workers × 8 threads on this run's database (SQLite
or PostgreSQL), 32 clients on loopback filing requests, replying (customers and staff, most of them to the
same few requests) and writing internal notes for a bounded time. Every acknowledged write is stored,
nothing unacknowledged is, no answer is a 500 and the server never says "database is locked".

The defect this guards against: 8 simultaneous customer replies to one request answered 28 × 500 over five
rounds, and a reply waited past SQLite's busy timeout."""

from __future__ import annotations

import http.cookiejar
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select

from portal.extensions import db
from portal.models import Account, Contract, Prospect, ServiceRequest, TimelineEvent, User
from portal.services.pipeline import proposals
from portal.services.reference_data import ensure_reference_data
from tests.factories import PASSWORD, department, make_account, make_request, make_user
from tests.test_production import _free_port

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
CLIENTS = 32
SECONDS = 20
MAX_PER_CLIENT = 150
_CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
_VERSION = re.compile(r'name="version" (?:type="hidden" )?value="(\d+)"')
_KEY = re.compile(r'name="idempotency_key" (?:type="hidden" )?value="([^"]+)"')


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003
        return None


class Client:
    """One browser: its own cookies, reading CSRF tokens off the pages as a form would carry them."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
        )

    def get(self, path: str) -> tuple[int, str]:
        try:
            with self.opener.open(self.base + path, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    def post(self, path: str, data: dict[str, str]) -> int:
        return self.send(path, data)[0]

    def send(self, path: str, data: dict[str, str]) -> tuple[int, str]:
        """(status, where it leads)."""
        body = urllib.parse.urlencode(data).encode()
        try:
            with self.opener.open(self.base + path, data=body, timeout=60) as response:
                return response.status, response.headers.get("Location", "")
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Location", "")

    def token(self, path: str) -> tuple[str, str]:
        status, page = self.get(path)
        assert status == 200, (path, status, page[:300])
        version = _VERSION.search(page)
        return _CSRF.search(page).group(1), version.group(1) if version else ""

    def sign_in(self, email: str) -> None:
        csrf, _ = self.token("/login")
        assert self.post("/login", {"csrf_token": csrf, "email": email, "password": PASSWORD}) == 303


def host_env(database_url: str, folder: Path, **settings: str) -> dict[str, str]:
    """A host's environment: the database, a secret shared by every host, folders of its own, ``settings``
    as ``PORTAL_<NAME>``; its processes (gunicorn, ``flask run-job``) read their config from it."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("PORTAL_TEST")},
        "PORTAL_DATABASE_URL": database_url,
        "PORTAL_SECRET_KEY": "concurrency-test-key",
        "PORTAL_INSTANCE_PATH": str(folder / "instance"),
        "PORTAL_UPLOAD_FOLDER": str(folder / "uploads"),
        "PORTAL_OUTBOX_FOLDER": str(folder / "outbox"),
        "PORTAL_PASSWORD_HASHING": "CHEAPEST",  # as the users were made (the default would re-hash each)
        **{f"PORTAL_{name}": value for name, value in settings.items()},
    }


def _serve(
    database_url: str,
    tmp_path: Path,
    rate_limit: str = "10000 per minute",
    threads: int = 8,
    workers: int = 4,
    **settings: str,
) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = _free_port()
    log = tmp_path / "gunicorn.log"
    env = host_env(database_url, tmp_path, LOGIN_RATE_LIMIT=rate_limit, **settings)
    command = [GUNICORN, "--workers", str(workers), "--threads", str(threads), "--bind", f"127.0.0.1:{port}"]
    server = subprocess.Popen(
        [*command, "--error-logfile", str(log), "--capture-output", "wsgi:app"], cwd=ROOT, env=env
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(base + "/login", timeout=2).close()
            return server, base, log
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise
            time.sleep(0.2)


def _world(clients: int):
    ensure_reference_data()
    after_sales = department("after_sales").id
    account = make_account()
    customers = [make_user("customer", account=account) for _ in range(clients // 2)]
    agents = [make_user("agent", departments=["after_sales"]) for _ in range(clients - clients // 2)]
    hot = [
        make_request(customers[0], department_id=after_sales, status="in_progress", shared_with_account=True)
        for _ in range(3)
    ]
    return customers, agents, [r.id for r in hot]


def _work(base, email, staff, hot, number, outcomes, stop_at):
    client = Client(base)
    client.sign_in(email)
    for n in range(MAX_PER_CLIENT):
        if time.monotonic() > stop_at:
            return
        marker = f"m-{number}-{n}"
        target = hot[n % len(hot)]
        try:
            if staff:
                csrf, version = client.token(f"/staff/requests/{target}")
                data = {"csrf_token": csrf, "version": version, "body": marker}
                if n % 2:
                    data["internal"] = "y"
                status = client.post(f"/staff/requests/{target}/reply", data)
            elif n % 3 == 0:
                csrf, _ = client.token("/my/new/after_sale/troubleshooting")
                form = {
                    "csrf_token": csrf,
                    "title": marker,
                    "description": "load",
                    "priority": "normal",
                    "severity": "minor",
                    "product": "Core switch",
                }
                status = client.post("/my/new/after_sale/troubleshooting", form)
            else:
                csrf, _ = client.token(f"/my/requests/{target}")
                status = client.post(f"/my/requests/{target}/reply", {"csrf_token": csrf, "body": marker})
        except (OSError, AssertionError) as error:  # a timeout: neither acknowledged nor refused
            outcomes.append((marker, f"no answer: {error}"))
            continue
        outcomes.append((marker, status))


def test_concurrent_writers_lose_nothing_and_never_fail(app, database_url, tmp_path):
    customers, agents, hot = _world(CLIENTS)
    server, base, log = _serve(database_url, tmp_path)
    outcomes: list[tuple[str, object]] = []
    stop_at = time.monotonic() + SECONDS
    try:
        threads = [
            threading.Thread(
                target=_work,
                args=(base, person.email, person in agents, hot, i, outcomes, stop_at),
                daemon=True,
            )
            for i, person in enumerate(customers + agents)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=SECONDS + 120)
        assert not any(thread.is_alive() for thread in threads)
    finally:
        server.terminate()
        server.wait(timeout=30)
    statuses = Counter(status for _, status in outcomes)
    assert statuses[303] > CLIENTS * 3, statuses  # the load was real
    assert set(statuses) == {303}, (statuses, log.read_text()[-4000:])  # no 500, no refusal
    db.session.expire_all()
    stored = set(db.session.scalars(select(TimelineEvent.body).where(TimelineEvent.body.like("m-%"))))
    stored |= set(db.session.scalars(select(ServiceRequest.title).where(ServiceRequest.title.like("m-%"))))
    acknowledged = {marker for marker, status in outcomes if status == 303}
    assert acknowledged <= stored, sorted(acknowledged - stored)[:10]
    assert stored <= {marker for marker, _ in outcomes}
    server_log = log.read_text()
    assert "database is locked" not in server_log and "Traceback" not in server_log, server_log[-3000:]


def test_the_same_form_sent_twice_at_the_same_moment_files_one_request(app, database_url, tmp_path):
    """A double click, or two tabs sending the same page: both answers lead to the one request filed."""
    customer = make_user("customer", account=make_account())
    ensure_reference_data()
    server, base, log = _serve(database_url, tmp_path)
    try:
        client = Client(base)
        client.sign_in(customer.email)
        for round_ in range(4):
            status, page = client.get("/my/new/after_sale/troubleshooting")
            assert status == 200
            form = {
                "csrf_token": _CSRF.search(page).group(1),
                "idempotency_key": _KEY.search(page).group(1),
                "title": f"twice-{round_}",
                "description": "sent twice",
                "priority": "normal",
                "severity": "minor",
                "product": "Core switch",
            }
            start = threading.Barrier(2)
            answers: list[tuple[int, str]] = []

            def send(form: dict, start: threading.Barrier, answers: list) -> None:
                start.wait(timeout=30)
                answers.append(client.send("/my/new/after_sale/troubleshooting", form))

            threads = [threading.Thread(target=send, args=(form, start, answers)) for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            assert [status for status, _ in answers] == [303, 303], answers
            assert answers[0][1] == answers[1][1] and "/my/requests/" in answers[0][1]
    finally:
        server.terminate()
        server.wait(timeout=30)
    db.session.expire_all()
    titles = db.session.scalars(
        select(ServiceRequest.title).where(ServiceRequest.title.like("twice-%"))
    ).all()
    assert sorted(titles) == [f"twice-{n}" for n in range(4)]
    assert "Traceback" not in log.read_text()


def test_the_sign_in_limit_holds_across_workers_without_redis(app, database_url, tmp_path):
    """4 workers, no Redis: 30 failed sign-ins at once from one address against 20 a minute — 20 are
    answered, 10 refused (with in-memory counters, each worker let its own 20 through: 30 of 30)."""
    # One thread per worker, so that the attempts are spread over all four.
    server, base, log = _serve(database_url, tmp_path, rate_limit="20 per minute", threads=1)
    clients = [Client(base) for _ in range(30)]
    tokens = [client.token("/login")[0] for client in clients]
    start = threading.Barrier(len(clients))
    codes: list[int] = []

    def attempt(client: Client, token: str, number: int) -> None:
        start.wait(timeout=30)
        form = {"csrf_token": token, "email": f"guess-{number}@example.com", "password": "wrong password!"}
        codes.append(client.post("/login", form))

    try:
        threads = [
            threading.Thread(target=attempt, args=(client, token, n))
            for n, (client, token) in enumerate(zip(clients, tokens, strict=True))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert Counter(codes) == {422: 20, 429: 10}
    assert "Traceback" not in log.read_text()


def test_two_administrators_switching_each_other_off_at_once_leave_one(app, database_url, tmp_path):
    """The last administrator stays even when two remove each other at the same moment: the check counts
    with the administrators' rows locked (SQLite: one writer at a time), so the second finds the first
    gone."""
    first, second = make_user("admin"), make_user("admin")
    server, base, log = _serve(database_url, tmp_path)
    answers: list[int] = []
    try:
        for _round in range(5):
            clients = {}
            for me, other in ((first, second), (second, first)):
                client = Client(base)
                client.sign_in(me.email)
                clients[me.id] = (client, client.token(f"/admin/staff/{other.id}")[0], other.id)
            start = threading.Barrier(2)

            def switch_off(client: Client, csrf: str, other_id: int, start: threading.Barrier) -> None:
                start.wait(timeout=30)
                answers.append(client.post(f"/admin/staff/{other_id}/active", {"csrf_token": csrf}))

            threads = [
                threading.Thread(target=switch_off, args=(*clients[u.id], start)) for u in (first, second)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            db.session.expire_all()
            active = db.session.scalars(select(User.id).where(User.role == "admin", User.active)).all()
            assert len(active) == 1, active
            for user in (first, second):  # both on again for the next round
                db.session.get(User, user.id).active = True
            db.session.commit()
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert len(answers) == 10 and set(answers) <= {302, 303}, answers
    assert "Traceback" not in log.read_text()


def test_a_proposal_accepted_from_four_browsers_at_once_makes_one_contract(app, database_url, tmp_path):
    """The review link opened in several browsers (forwarded inside the prospect's company) and accepted in
    all of them at the same moment: the answer is taken on the proposal's locked row, so one acceptance
    makes the account and the contract and the others are told it is answered already (422)."""
    owner = make_user("agent", departments=["sales"])
    server, base, log = _serve(database_url, tmp_path)
    answers: list[int] = []
    today = date.today()
    try:
        for round_ in range(3):
            prospect = Prospect(
                name=f"Concurrent Co {round_}",
                industry="other",
                size="large",
                source="referral",
                contact_name="Ms Lin",
                contact_email=f"lin@concurrent{round_}.example",
                stage="needs_analysed",
                owner_id=owner.id,
            )
            db.session.add(prospect)
            db.session.commit()
            terms = proposals.ProposalTerms(
                title="Offer",
                language="zh",
                tier="key",
                currency="CNY",
                discount_percent="0",
                valid_until=today + timedelta(days=10),
                start_date=today + timedelta(days=20),
                end_date=today + timedelta(days=380),
                quantities={"support_hours": "10"},
                prices={"support_hours": "100"},
            )
            offer = proposals.create(owner, terms, today, prospect=prospect)
            proposals.send(owner, offer, today)
            saved, app.config["SECRET_KEY"] = app.config["SECRET_KEY"], "concurrency-test-key"
            link = f"/my/proposals/review/{proposals.review_token(offer)}"  # as the server signs it
            app.config["SECRET_KEY"] = saved
            browsers = [Client(base) for _ in range(4)]
            tokens = [b.token(link)[0] for b in browsers]
            start = threading.Barrier(len(browsers))

            def accept(browser: Client, csrf: str, n: int, link: str, start: threading.Barrier) -> None:
                start.wait(timeout=30)
                data = {"csrf_token": csrf, "answer": "accepted", "name": f"Reader {n}"}
                answers.append(browser.post(link, data))

            threads = [
                threading.Thread(target=accept, args=(b, t, n, link, start))
                for n, (b, t) in enumerate(zip(browsers, tokens, strict=True))
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            db.session.expire_all()
            made = db.session.scalars(
                select(Contract.id).join(Account).where(Account.name == prospect.name)
            ).all()
            assert len(made) == 1, made
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert len(answers) == 12 and sorted(answers).count(303) == 3 and set(answers) <= {303, 422}, answers
    assert "Traceback" not in log.read_text()
