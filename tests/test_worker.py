"""The task queue once for real: a notice's email is queued in Huey's SQLite file and sent by a separate
`flask worker` process (the other tests run tasks in Huey's immediate mode)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from email import message_from_bytes
from email.policy import default
from pathlib import Path

from portal.extensions import db
from portal.models import Notification
from portal.services.messaging import notifications
from portal.tasks import huey
from tests.factories import make_request, make_user

ROOT = Path(__file__).resolve().parent.parent


def _start_worker(
    database_url: str, tmp_path: Path, *, periodic: bool = False, log: Path | None = None, **settings: str
) -> subprocess.Popen[bytes]:
    """`flask worker` in its own process, on the test database and Huey's queue file (or the queue in
    ``settings``), with periodic jobs if asked; its output to ``log``, or a pipe."""
    env = {
        **os.environ,
        "PORTAL_DATABASE_URL": database_url,
        "PORTAL_SECRET_KEY": "test-secret-key",
        "PORTAL_INSTANCE_PATH": str(tmp_path / "instance"),
        **{f"PORTAL_{key}": value for key, value in settings.items()},
    }
    command = [str(Path(sys.executable).parent / "flask"), "--app", "portal", "worker", "--workers", "1"]
    if not periodic:
        command.append("--no-periodic")
    if log is None:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    with log.open("ab") as output:  # the worker has its own copy of the file
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)


def test_a_real_worker_sends_a_queued_email(app, database_url, tmp_path):
    outbox = tmp_path / "worker-outbox"
    worker = _start_worker(
        database_url, tmp_path, OUTBOX_FOLDER=str(outbox), BASE_URL="https://worker.example.test"
    )
    customer = make_user("customer", locale="en")
    request = make_request(customer, title="Queued for real")  # sent at once (immediate mode), to our outbox
    huey.immediate = False
    try:
        (notice,) = notifications.notify(
            [customer],
            "waiting_for_you",
            request=request,
            data={"ref": request.reference, "title": request.title},
        )
        db.session.commit()  # the commit hands the email to the queue file; the worker picks it up
        deadline = time.monotonic() + 60
        state = "pending"
        while time.monotonic() < deadline and state != "sent":
            time.sleep(0.3)
            db.session.expire_all()
            state = db.session.get(Notification, notice.id).email_state
        assert state == "sent", worker.stdout.read1().decode(errors="replace") if worker.stdout else ""
    finally:
        huey.immediate = True
        worker.terminate()
        worker.wait(timeout=20)
    (eml,) = outbox.glob("*.eml")
    message = message_from_bytes(eml.read_bytes(), policy=default)
    assert message["To"] == customer.email and "Waiting for your answer" in message["Subject"]
    assert (
        f"https://worker.example.test/my/requests/{request.id}" in message.get_body(("plain",)).get_content()
    )


def test_a_real_worker_builds_the_summaries_zip(app, database_url, tmp_path):
    from datetime import date

    from portal import tasks
    from portal.models import ExportJob
    from portal.services.reporting import exports
    from tests.factories import make_account

    worker = _start_worker(database_url, tmp_path, UPLOAD_FOLDER=app.config["UPLOAD_FOLDER"])
    make_account(name="华信银行")
    requester = make_user("finance")
    huey.immediate = False
    try:
        job = exports.start_zip(requester, date(2026, 11, 1), date(2026, 11, 30))
        tasks.build_summaries_zip(job.id)
        deadline = time.monotonic() + 90
        state = "queued"
        while time.monotonic() < deadline and state not in ("done", "failed"):
            time.sleep(0.5)
            db.session.expire_all()
            state = db.session.get(ExportJob, job.id).state
        assert state == "done", worker.stdout.read1().decode(errors="replace") if worker.stdout else ""
    finally:
        huey.immediate = True
        worker.terminate()
        worker.wait(timeout=20)
    done = db.session.get(ExportJob, job.id)
    assert (done.done, done.total) == (1, 1) and done.attachment_id is not None


def test_a_zip_whose_worker_is_killed_midway_is_finished_by_another(app, database_url, tmp_path):
    """SIGKILL in the middle of the all-accounts ZIP: the job once stayed "running 4/43" for ever."""
    import signal
    from datetime import date

    from sqlalchemy import func, select

    from portal.models import Attachment, ExportJob
    from portal.services.reporting import exports
    from tests.factories import make_account

    for n in range(12):
        make_account(name=f"客户 {n:02d}")
    requester = make_user("finance")
    settings = {"UPLOAD_FOLDER": app.config["UPLOAD_FOLDER"], "EXPORT_LEASE_SECONDS": "2"}
    first = _start_worker(database_url, tmp_path, **settings)
    second = None
    huey.immediate = False
    try:
        job = exports.start_zip(requester, date(2026, 11, 1), date(2026, 11, 30))
        db.session.commit()  # handed to the queue file; the first worker starts on it
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and db.session.get(ExportJob, job.id).done < 2:
            time.sleep(0.2)
            db.session.expire_all()
        assert db.session.get(ExportJob, job.id).state == "running"
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=20)
        second = _start_worker(database_url, tmp_path, **settings)
        time.sleep(2.5)  # the dead worker's lease runs out
        assert exports.recover_jobs() == 1  # the periodic sweep, now: back to the queue
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and db.session.get(ExportJob, job.id).state != "done":
            time.sleep(0.5)
            db.session.expire_all()
    finally:
        huey.immediate = True
        for worker in (first, second):
            if worker is not None and worker.poll() is None:
                worker.terminate()
                worker.wait(timeout=20)
    done = db.session.get(ExportJob, job.id)
    assert (done.state, done.attempt, done.done, done.total) == ("done", 2, 12, 12)
    assert db.session.scalar(select(func.count(Attachment.id))) == 1


def test_the_monthly_statements_run_again_each_hour_of_the_first_so_a_cut_run_is_finished():
    from datetime import datetime

    from portal import tasks

    runs = tasks.monthly_statements.s().validate_datetime
    assert runs(datetime(2026, 12, 1, 3, 0)) and runs(datetime(2026, 12, 1, 4, 0))
    assert runs(datetime(2026, 12, 1, 23, 0))
    assert not runs(datetime(2026, 12, 1, 2, 0)) and not runs(datetime(2026, 12, 2, 3, 0))
