"""The ZIP export survives its worker: an attempt holds the job by a lease it renews; when the lease runs
out another worker takes the job over and the first stops; it completes once; a failure goes back to the
queue until its last try, which shows it failed; the periodic sweep hands lost jobs back to the queue."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Attachment, ExportJob
from portal.models.base import utcnow
from portal.services.reporting import exports
from tests.factories import make_account, make_user, stored_files

LEASE = timedelta(seconds=30)


@pytest.fixture
def job():
    make_account(name="华信银行")
    make_account(name="东方能源")
    made = ExportJob(
        period_start=date(2026, 11, 1), period_end=date(2026, 11, 30), requested_by_id=make_user("finance").id
    )
    db.session.add(made)
    db.session.commit()
    return made.id


def _job(job_id: int) -> ExportJob:
    db.session.expire_all()
    found = db.session.get(ExportJob, job_id)
    assert found is not None
    return found


def test_one_attempt_holds_the_job_until_its_lease_runs_out(job):
    now = utcnow()
    assert exports.claim(job, LEASE, now) == 1
    assert exports.claim(job, LEASE, now + timedelta(seconds=5)) is None  # a live worker holds it
    assert exports.claim(job, LEASE, now + LEASE + timedelta(seconds=1)) == 2  # that worker died
    assert (_job(job).state, _job(job).attempt) == ("running", 2)


def test_a_job_whose_worker_died_is_finished_once_by_another(job, each_store):
    store = each_store
    exports.claim(job, LEASE, utcnow() - LEASE - timedelta(seconds=1))  # the first worker, long gone
    finished = exports.build_zip(job, store, LEASE)
    assert finished is not None and (finished.state, finished.attempt) == ("done", 2)
    assert (finished.done, finished.total) == (2, 2) and finished.attachment_id is not None
    assert exports.build_zip(job, store, LEASE) is None  # done: nobody builds it again
    assert db.session.scalar(select(func.count(Attachment.id))) == 1
    assert len(stored_files()) == 1


def test_a_worker_whose_job_was_taken_over_stops_and_stores_nothing(job, each_store, monkeypatch):
    store = each_store
    real = exports.summaries.render_pdf

    def taken_over_meanwhile(summary):  # another worker claims the job while this one renders
        pdf = real(summary)
        db.session.execute(
            exports.update(ExportJob).where(ExportJob.id == job).values(attempt=ExportJob.attempt + 1)
        )
        db.session.commit()
        return pdf

    monkeypatch.setattr(exports.summaries, "render_pdf", taken_over_meanwhile)
    assert exports.build_zip(job, store, LEASE) is None
    assert _job(job).attachment_id is None and stored_files() == set()


def test_a_failure_is_tried_again_and_the_last_one_shows_failed(job, store, monkeypatch):
    def broken(summary):
        raise RuntimeError("the renderer broke")

    monkeypatch.setattr(exports.summaries, "render_pdf", broken)
    for attempt in range(1, exports.MAX_ATTEMPTS + 1):
        with pytest.raises(RuntimeError):
            exports.build_zip(job, store, LEASE)
        expected = "failed" if attempt == exports.MAX_ATTEMPTS else "queued"
        assert (_job(job).state, _job(job).attempt) == (expected, attempt)
    assert "the renderer broke" in _job(job).error and exports.build_zip(job, store, LEASE) is None


def test_the_sweep_requeues_lost_jobs_and_fails_those_out_of_tries(job, monkeypatch):
    queued: list[int] = []
    monkeypatch.setattr(exports.background, "enqueue", lambda name, job_id: queued.append(job_id))
    now = utcnow()
    exports.claim(job, LEASE, now - LEASE * 2)  # its worker died a minute ago
    assert exports.recover_jobs(now) == 1 and queued == [job]
    assert exports.recover_jobs(now - LEASE * 3) == 0  # before it ran out: nothing to do
    db.session.execute(
        exports.update(ExportJob).where(ExportJob.id == job).values(attempt=exports.MAX_ATTEMPTS)
    )
    db.session.commit()
    queued.clear()
    assert exports.recover_jobs(now) == 0 and queued == []
    assert _job(job).state == "failed"


def test_two_hosts_issuing_the_months_statements_at_once_issue_each_once(app, each_store):
    """The second host's statement run once crashed with IntegrityError (or would have made version 2)."""
    store = each_store
    import threading

    from portal.models import Statement

    for n in range(3):
        make_account(name=f"客户 {n}")
    db.session.commit()
    today, failures = date(2026, 12, 1), []

    def host() -> None:
        with app.app_context():
            try:
                exports.monthly_statements(today, store)
            except Exception as error:  # noqa: BLE001 - the test reports it
                failures.append(error)
            finally:
                db.session.remove()

    hosts = [threading.Thread(target=host) for _ in range(2)]
    for thread in hosts:
        thread.start()
    for thread in hosts:
        thread.join(timeout=120)
    assert failures == []
    issued = db.session.execute(select(Statement.account_id, Statement.version)).all()
    assert sorted(version for _, version in issued) == [1, 1, 1] and len({a for a, _ in issued}) == 3
    assert len(stored_files()) == 3  # no stray file from the attempt that lost
