"""Value-added reports (DESIGN.md §6): staff publish deliverables on a value-added request; the account finds
them in its report library, searchable and filterable; every download is audited.

A published deliverable tells the requester (the timeline event does, through notifications), and its
request counts as a used report of the contract from then on (services/entitlements.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload

from portal import permissions
from portal.extensions import db
from portal.models import Deliverable, ServiceRequest, TimelineEvent, User
from portal.models.base import utcnow
from portal.services import audit, submissions
from portal.services.errors import InvalidInput, NotAllowed
from portal.services.requests import workflow
from portal.services.requests.attachments import Upload, check, store_file
from portal.services.storage import FileStore
from portal.services.unit_of_work import use_case

REPORT_KINDS = ("custom_report", "industry_news", "market_analysis")
REPORT_EXTENSIONS = ("pdf", "xlsx", "docx", "pptx")
PAGE_SIZE = 20


@use_case
def publish(
    request: ServiceRequest,
    staff: User,
    *,
    title: str,
    summary: str,
    upload: Upload,
    files: FileStore,
    max_bytes: int,
    now: datetime | None = None,
    idempotency_key: str | None = None,
) -> Deliverable:
    """Publish one deliverable on a value-added request; nothing is kept if anything is refused."""
    if not permissions.can_work_request(staff, request):
        raise NotAllowed(str(_l("Only staff of the request's department can work on it.")))
    if request.category != "value_added":
        raise InvalidInput("file", str(_l("Reports are published on value-added requests only.")))
    if request.status in ("cancelled", "closed"):
        raise InvalidInput("file", str(_l("This request is finished; reopen work on a new request.")))
    title = title.strip()
    if not title:
        raise InvalidInput("title", str(_l("Give the report a title.")))
    name, content_type = check(upload, max_bytes)
    if name.rsplit(".", 1)[-1].lower() not in REPORT_EXTENSIONS:
        raise InvalidInput("file", str(_l("A report must be a PDF, XLSX, DOCX or PPTX file.")))
    now = now or utcnow()
    submissions.made(submissions.claim(staff, idempotency_key, "report"), request.id)
    workflow.lock(request)
    attachment = store_file(
        upload.data,
        name,
        content_type,
        files,
        account_id=request.account_id,
        request_id=request.id,
        uploader_id=staff.id,
        at=now,
    )
    deliverable = Deliverable(
        request_id=request.id,
        attachment_id=attachment.id,
        title=title[:200],
        summary=summary.strip()[:5000],
        published_by_id=staff.id,
        published_at=now,
    )
    db.session.add(deliverable)
    db.session.flush()
    db.session.add(
        TimelineEvent(
            request_id=request.id,
            kind="deliverable_published",
            actor_id=staff.id,
            body=deliverable.title,
            data={"attachment_id": attachment.id, "deliverable_id": deliverable.id},
            created_at=now,
        )
    )
    request.updated_at = now
    return deliverable


@dataclass(frozen=True)
class LibraryFilters:
    search: str | None = None
    kind: str | None = None
    published_from: date | None = None
    published_to: date | None = None


@dataclass
class LibraryPage:
    rows: list[Deliverable]
    total: int
    page: int
    pages: int


def library_query(visible: Select[ServiceRequest], filters: LibraryFilters, zone: str) -> Select[Deliverable]:
    """Deliverables of the requests in ``visible`` that match the filters. Dates are the reader's days."""
    query = (
        select(Deliverable)
        .join(ServiceRequest, ServiceRequest.id == Deliverable.request_id)
        .where(Deliverable.request_id.in_(visible.with_only_columns(ServiceRequest.id)))
    )
    if filters.kind in REPORT_KINDS:
        query = query.where(ServiceRequest.subtype == filters.kind)
    if filters.search:
        words = filters.search.strip()[:100]  # literal: % _ and \\ match themselves
        query = query.where(
            or_(
                Deliverable.title.icontains(words, autoescape=True),
                Deliverable.summary.icontains(words, autoescape=True),
                func.coalesce(ServiceRequest.topic, "").icontains(words, autoescape=True),
                ServiceRequest.reference.icontains(words, autoescape=True),
            )
        )
    if filters.published_from:
        start = datetime.combine(filters.published_from, time(), tzinfo=ZoneInfo(zone))
        query = query.where(Deliverable.published_at >= start)
    if filters.published_to:
        end = datetime.combine(filters.published_to + timedelta(days=1), time(), tzinfo=ZoneInfo(zone))
        query = query.where(Deliverable.published_at < end)
    return query


def library_page(
    visible: Select[ServiceRequest],
    filters: LibraryFilters,
    page: int = 1,
    zone: str = "Asia/Shanghai",
) -> LibraryPage:
    query = library_query(visible, filters, zone)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    rows = list(
        db.session.scalars(
            query.options(selectinload(Deliverable.request), selectinload(Deliverable.attachment))
            .order_by(Deliverable.published_at.desc(), Deliverable.id.desc())
            .limit(PAGE_SIZE)
            .offset((page - 1) * PAGE_SIZE)
        )
    )
    return LibraryPage(rows, total, page, pages)


def deliverables_of(request: ServiceRequest) -> list[Deliverable]:
    return list(
        db.session.scalars(
            select(Deliverable)
            .where(Deliverable.request_id == request.id)
            .options(selectinload(Deliverable.attachment))
            .order_by(Deliverable.published_at, Deliverable.id)
        )
    )


@use_case
def record_download(deliverable: Deliverable, user: User, ip_address: str) -> None:
    audit.record(
        "report.downloaded", actor=user, obj=deliverable, ip_address=ip_address, title=deliverable.title
    )
