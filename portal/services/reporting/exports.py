"""Finance exports built in the background: every active account's service summary for a period as one ZIP
(with progress for the screen that waits for it), and the monthly statements archived per account, where a
re-issue is a new version and an issued PDF never changes.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.models import Account, ExportJob, Statement, User
from portal.models.base import utcnow
from portal.services import audit, background
from portal.services.errors import InvalidInput
from portal.services.reporting import summaries
from portal.services.requests.attachments import store_file
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


def build_zip(job_id: int, folder: Path) -> ExportJob:
    """Render each account's summary in its own language into one ZIP, saving progress as it goes."""
    job = db.session.get(ExportJob, job_id)
    if job is None or job.state != "queued":
        raise InvalidInput("job", "no such queued export")
    accounts = list(db.session.scalars(select(Account).where(Account.active).order_by(Account.name)))
    job.state, job.total, job.done = "running", len(accounts), 0
    db.session.commit()
    buffer = io.BytesIO()
    try:
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for account in accounts:
                summary = summaries.gather(
                    account, job.period_start, job.period_end, account.preferred_language
                )
                name = summaries.file_name(
                    account, job.period_start, job.period_end, account.preferred_language
                )
                archive.writestr(name, summaries.render_pdf(summary))
                job.done += 1
                db.session.commit()
        name = f"summaries-{job.period_start.isoformat()}-{job.period_end.isoformat()}.zip"
        attachment = store_file(
            buffer.getvalue(),
            name,
            "application/zip",
            folder,
            account_id=None,
            uploader_id=job.requested_by_id,
        )
        job.attachment_id, job.state, job.finished_at = attachment.id, "done", utcnow()
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        job = db.session.get(ExportJob, job_id)
        assert job is not None
        job.state, job.error, job.finished_at = "failed", str(error)[:500], utcnow()
        db.session.commit()
        raise
    return job


# --- monthly statements ----------------------------------------------------------------------------------


def month_of(day: date) -> tuple[date, date]:
    first = date(day.year, day.month, 1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def issue_statement(
    account: Account,
    start: date,
    end: date,
    folder: Path,
    user: User | None = None,
    at: datetime | None = None,
) -> Statement:
    """Issue (or re-issue, as the next version) the account's statement for a period. The PDF is rendered
    before the transaction that files it, which stays short; a failed rendering writes nothing."""
    language = account.preferred_language
    pdf = summaries.render_pdf(summaries.gather(account, start, end, language))
    return _file_statement(account, start, end, language, pdf, folder, user, at)


@use_case
def _file_statement(
    account: Account,
    start: date,
    end: date,
    language: str,
    pdf: bytes,
    folder: Path,
    user: User | None,
    at: datetime | None,
) -> Statement:
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
    language = account.preferred_language
    name = summaries.file_name(account, start, end, language, "statement").replace(".pdf", f" v{version}.pdf")
    user_id = user.id if user else None
    stored = store_file(pdf, name, "application/pdf", folder, account_id=account.id, uploader_id=user_id)
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


def monthly_statements(today: date, folder: Path) -> int:
    """Last month's statement for every active account that has none yet (idempotent)."""
    start, end = month_of(date(today.year, today.month, 1) - timedelta(days=1))
    issued = set(
        db.session.scalars(
            select(Statement.account_id).where(Statement.period_start == start, Statement.period_end == end)
        )
    )
    count = 0
    for account in db.session.scalars(select(Account).where(Account.active).order_by(Account.id)).all():
        if account.id not in issued:
            issue_statement(account, start, end, folder)
            count += 1
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
