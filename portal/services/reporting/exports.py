"""Finance exports built in the background: every active account's service summary for a period as one ZIP
(with progress for the screen that waits for it), and the monthly statements archived per account, where a
re-issue is a new version and an issued PDF never changes.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.models import Account, ExportJob, Notification, Statement, User
from portal.models.base import utcnow
from portal.services import audit, background
from portal.services.errors import InvalidInput
from portal.services.reporting import summaries
from portal.services.requests.attachments import store_file
from portal.services.storage import FileStore
from portal.services.unit_of_work import use_case

# --- all accounts as one ZIP -----------------------------------------------------------------------------


@use_case
def start_zip(user: User, start: date, end: date) -> ExportJob:
    if end < start:
        raise InvalidInput("end", str(_l("The period ends before it starts.")))
    job = ExportJob(period_start=start, period_end=end, requested_by_id=user.id)
    db.session.add(job)
    audit.record("finance.zip_requested", actor=user, start=start.isoformat(), end=end.isoformat())
    db.session.flush()
    background.enqueue("summaries_zip", job.id)
    return job


# A job is tried this often before it is shown as failed (a worker that dies counts as a try).
MAX_ATTEMPTS = 3


def claim(job_id: int, lease: timedelta, now: datetime | None = None) -> int | None:
    """Take the job — queued, or running under a lease that has run out — for the next attempt; its number,
    or None (done, failed, held by a live worker, or out of attempts). One ``UPDATE … RETURNING``: two
    workers claiming at once cannot both win, whatever the isolation level, and progress starts again."""
    now = now or utcnow()
    taken = db.session.execute(
        update(ExportJob)
        .where(
            ExportJob.id == job_id,
            ExportJob.attempt < MAX_ATTEMPTS,
            or_(
                ExportJob.state == "queued",
                and_(ExportJob.state == "running", ExportJob.lease_until < now),
            ),
        )
        .values(state="running", attempt=ExportJob.attempt + 1, lease_until=now + lease, done=0)
        .returning(ExportJob.attempt)
        .execution_options(synchronize_session=False)
    ).scalar()
    db.session.commit()
    return taken


def _still_held(job_id: int, attempt: int, lease: timedelta, **values: object) -> bool:
    """Renew the lease (and write ``values``) if this attempt still holds the job; commits."""
    held = db.session.execute(  # type: ignore[attr-defined]
        update(ExportJob)
        .where(ExportJob.id == job_id, ExportJob.attempt == attempt, ExportJob.state == "running")
        .values(lease_until=utcnow() + lease, **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return bool(held)


def build_zip(job_id: int, files: FileStore, lease: timedelta = timedelta(minutes=2)) -> ExportJob | None:
    """Render each account's summary in its own language into one ZIP, saving progress and renewing the
    lease after each. Runs to completion at most once: a worker that finds the job held by a live lease
    leaves it, one whose lease another has taken over stops, and only the holder stores the ZIP. A failure
    puts the job back in the queue (the task is retried) until its last attempt, which marks it failed."""
    attempt = claim(job_id, lease)
    if attempt is None:
        return None
    job = db.session.get(ExportJob, job_id)
    assert job is not None
    accounts = list(db.session.scalars(select(Account).where(Account.active).order_by(Account.name)))
    start, end, requester = job.period_start, job.period_end, job.requested_by_id
    if not _still_held(job_id, attempt, lease, total=len(accounts)):
        return None
    buffer = io.BytesIO()
    try:
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for done, account in enumerate(accounts, start=1):
                summary = summaries.gather(account, start, end, account.preferred_language)
                name = summaries.file_name(account, start, end, account.preferred_language)
                archive.writestr(name, summaries.render_pdf(summary))
                if not _still_held(job_id, attempt, lease, done=done):
                    return None  # taken over: the other worker finishes it
        name = f"summaries-{start.isoformat()}-{end.isoformat()}.zip"
        attachment = store_file(
            buffer.getvalue(), name, "application/zip", files, account_id=None, uploader_id=requester
        )
        finished = db.session.execute(  # type: ignore[attr-defined]
            update(ExportJob)
            .where(ExportJob.id == job_id, ExportJob.attempt == attempt, ExportJob.state == "running")
            .values(attachment_id=attachment.id, state="done", finished_at=utcnow(), lease_until=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not finished:
            db.session.rollback()  # the ZIP's row and file go: another attempt holds the job
            return None
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        last = attempt >= MAX_ATTEMPTS
        db.session.execute(
            update(ExportJob)
            .where(ExportJob.id == job_id, ExportJob.attempt == attempt)
            .values(
                state="failed" if last else "queued",
                error=str(error)[:500],
                finished_at=utcnow() if last else None,
                lease_until=None,
            )
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        raise
    return db.session.get(ExportJob, job_id)


def recover_jobs(now: datetime | None = None) -> int:
    """The periodic sweep: a job whose worker died (its lease ran out) goes back to the queue, or is marked
    failed when it has had its tries; a job queued long ago whose task was lost is queued again. Returns how
    many were handed to the queue (taking one twice is harmless: ``claim`` lets one attempt win)."""
    now = now or utcnow()
    expired = and_(ExportJob.state == "running", ExportJob.lease_until < now)
    db.session.execute(
        update(ExportJob)
        .where(expired, ExportJob.attempt >= MAX_ATTEMPTS)
        .values(
            state="failed",
            error="The worker building it stopped each time it was tried.",
            finished_at=now,
            lease_until=None,
        )
        .execution_options(synchronize_session=False)
    )
    waiting = or_(
        expired, and_(ExportJob.state == "queued", ExportJob.created_at < now - timedelta(minutes=5))
    )
    ids = list(db.session.scalars(select(ExportJob.id).where(waiting).order_by(ExportJob.id)))
    for job_id in ids:
        background.enqueue("summaries_zip", job_id)
    db.session.commit()
    return len(ids)


# --- monthly statements ----------------------------------------------------------------------------------


def month_of(day: date) -> tuple[date, date]:
    first = date(day.year, day.month, 1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def issue_statement(
    account: Account,
    start: date,
    end: date,
    files: FileStore,
    user: User | None = None,
    at: datetime | None = None,
    *,
    first_only: bool = False,
) -> Statement | None:
    """Issue (or re-issue, as the next version) the account's statement for a period. The PDF is rendered
    before the transaction that files it, which stays short; a failed rendering writes nothing.
    ``first_only``: only if the period has none yet (None otherwise)."""
    language = account.preferred_language
    pdf = summaries.render_pdf(summaries.gather(account, start, end, language))
    return _file_statement(account, start, end, language, pdf, files, user, at, first_only)


@use_case
def _file_statement(
    account: Account,
    start: date,
    end: date,
    language: str,
    pdf: bytes,
    files: FileStore,
    user: User | None,
    at: datetime | None,
    first_only: bool = False,
) -> Statement | None:
    version = (
        db.session.scalar(
            select(func.max(Statement.version)).where(
                Statement.account_id == account.id,
                Statement.period_start == start,
                Statement.period_end == end,
            )
        )
        or 0
    ) + 1
    if first_only and version > 1:
        return None  # another worker (another host's periodic job) issued it meanwhile
    language = account.preferred_language
    name = summaries.file_name(account, start, end, language, "statement").replace(".pdf", f" v{version}.pdf")
    user_id = user.id if user else None
    stored = store_file(pdf, name, "application/pdf", files, account_id=account.id, uploader_id=user_id)
    statement = Statement(
        account_id=account.id,
        period_start=start,
        period_end=end,
        version=version,
        language=language,
        attachment_id=stored.id,
        issued_by_id=user_id,
        created_at=at or utcnow(),
    )
    db.session.add(statement)
    audit.record(
        "finance.statement_issued", actor=user, obj=account, start=start.isoformat(), version=version
    )
    return statement


def monthly_statements(today: date, files: FileStore) -> int:
    """Last month's statement for every active account that has none yet — idempotent, and safe to run on
    several hosts at once: each statement is issued once (a second host finds it issued, or, committing
    the same first version at the same moment, is refused by the unique key and moves on)."""
    start, end = month_of(date(today.year, today.month, 1) - timedelta(days=1))
    issued = set(
        db.session.scalars(
            select(Statement.account_id).where(Statement.period_start == start, Statement.period_end == end)
        )
    )
    count = 0
    for account in db.session.scalars(select(Account).where(Account.active).order_by(Account.id)).all():
        if account.id in issued:
            continue
        try:
            made = issue_statement(account, start, end, files, first_only=True)
        except IntegrityError:  # the same first version, committed by another host a moment before
            db.session.rollback()
            continue
        count += made is not None
    return count


def statements() -> list[Statement]:
    return list(
        db.session.scalars(
            select(Statement)
            .options(selectinload(Statement.account))
            .order_by(Statement.period_start.desc(), Statement.account_id, Statement.version.desc())
            .limit(300)
        )
    )


# --- the background work an admin watches ------------------------------------------------------------


@dataclass(frozen=True)
class WorkOverview:
    tasks_waiting: int  # in the task queue, not yet taken by a worker
    emails_pending: int
    emails_failed: int
    jobs: list[ExportJob]  # the latest, newest first


def email_counts() -> dict[str, int]:
    """Notification emails by delivery state (pending, sent, failed — given up on); one statement."""
    return dict(
        db.session.execute(  # type: ignore[arg-type]
            select(Notification.email_state, func.count())
            .where(Notification.email_state != "none")
            .group_by(Notification.email_state)
        ).all()
    )


def job_counts() -> dict[str, int]:
    """Export jobs by state."""
    by_state = select(ExportJob.state, func.count()).group_by(ExportJob.state)
    return dict(db.session.execute(by_state).all())  # type: ignore[arg-type]


def work_overview(tasks_waiting: int, limit: int = 50) -> WorkOverview:
    """What the queue holds, the emails not sent yet or given up on, and the latest export jobs."""
    counts = email_counts()
    jobs = list(db.session.scalars(select(ExportJob).order_by(ExportJob.id.desc()).limit(limit)))
    return WorkOverview(tasks_waiting, counts.get("pending", 0), counts.get("failed", 0), jobs)


@use_case
def try_again(job_id: int, user: User) -> bool:
    """Run a failed export again from its first try (the same job, so its page and link stay). False when
    it is not failed (someone pressed it a moment before: it is queued already)."""
    again = db.session.execute(  # type: ignore[attr-defined]
        update(ExportJob)
        .where(ExportJob.id == job_id, ExportJob.state == "failed")
        .values(state="queued", attempt=0, done=0, error="", finished_at=None, lease_until=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if again:
        audit.record("finance.zip_retried", actor=user, job_id=job_id)
        background.enqueue("summaries_zip", job_id)
    return bool(again)
