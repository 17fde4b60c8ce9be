"""Staff screens: the department queues and the request workspace."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from portal import permissions, web
from portal.access import attachment_for_viewer, internal_viewer_required, request_for_staff, staff_required
from portal.extensions import db, htmx
from portal.i18n import current_language
from portal.internal import bp, forms
from portal.internal.workspace import workspace_context
from portal.models import Account, Department, ServiceRequest, User
from portal.models.accounts import INDUSTRIES, STAFF_ROLES, TIERS
from portal.models.base import utcnow
from portal.models.requests import CATEGORIES, PRIORITIES, STATUSES
from portal.page_cache import cached_page
from portal.rendering import render, sends_file, wants_fragment
from portal.services import overview
from portal.services.engagement import reports
from portal.services.errors import DomainError, InvalidInput
from portal.services.requests import attachments, queues, sla, workflow
from portal.services.requests.workflow import StaleRequest
from portal.services.submissions import AlreadySubmitted
from portal.uploads import file_store
from portal.web import safe_next


@bp.get("/")
@staff_required
def home():
    return render("internal/home.html", home=overview.staff_home(current_user))


def colleagues(user: User) -> list[User]:
    """Active agents and leads of the user's departments (everyone's for managers and admins)."""
    query = select(User).where(User.active, User.role.in_(STAFF_ROLES)).order_by(User.full_name)
    if user.role in STAFF_ROLES:
        query = query.where(User.departments.any(Department.id.in_(permissions.department_ids(user))))
    return list(db.session.scalars(query))


def _offer_filter_choices(form: forms.QueueFilterForm, people: list[User]) -> None:
    """The assignee choices, for the whole page only: the results fragment shows no filters."""
    form.assignee.choices = forms.options([(str(u.id), u.full_name) for u in people], _("Anyone"))


def _filters(form: forms.QueueFilterForm) -> queues.QueueFilters:
    return queues.QueueFilters(
        category=form.cleaned("category", CATEGORIES),
        subtype=form.subtype.data or None,
        tier=form.cleaned("tier", TIERS),
        industry=form.cleaned("industry", INDUSTRIES),
        priority=form.cleaned("priority", PRIORITIES),
        status=form.cleaned("status", STATUSES),
        account_name=(form.account.data or "").strip() or None,
        assignee_id=form.assignee.data,
        search=(form.q.data or "").strip() or None,
        sort=form.sort.data or "oldest",
    )


@bp.get("/queue/accounts")
@internal_viewer_required
def account_suggestions():
    """The account filter's suggestions (a <datalist>), loaded when the field is first used."""
    if not wants_fragment():
        return redirect(url_for("internal.queue"))
    accounts = db.session.execute(
        select(Account.name, Account.name_en).where(Account.active).order_by(Account.name)
    ).all()
    return render("internal/_account_suggestions.html", accounts=accounts)


@bp.get("/queue")
@cached_page
@internal_viewer_required
def queue():
    form = forms.QueueFilterForm(request.args)
    name = form.queue.data if form.queue.data in queues.QUEUES else "all_open"
    now = utcnow()
    page = queues.queue_page(current_user, name, _filters(form), cursor=request.args.get("after"), now=now)
    args = {k: v for k, v in request.args.items() if k != "after" and v}
    people = colleagues(current_user)
    whole_page = not wants_fragment()
    if whole_page:
        _offer_filter_choices(form, people)
    return render(
        "internal/queue.html",
        block="results",
        form=form,
        queue_name=name,
        page=page,
        next_url=url_for("internal.queue", **args, after=page.next_cursor) if page.next_cursor else None,
        first_url=url_for("internal.queue", **args) if request.args.get("after") else None,
        sort_args={k: v for k, v in args.items() if k != "sort"},
        counts=queues.queue_counts(current_user, now) if whole_page else None,
        count_cap=queues.COUNT_CAP,
        assignees=people,
        now=now,
    )


def _row_or_redirect(service_request: ServiceRequest) -> Response:
    """A queue row's action (an htmx post) gets its row again, in the row's place (said here, so that no row
    carries it); a form (boosted or not) goes on."""
    if htmx and not htmx.boosted:
        row = queues.QueueRow(
            service_request, *queues.sla_badge(service_request, sla.load_calendar(), utcnow())
        )
        response = render("internal/_queue_row.html", row=row)
        response.headers.update({"HX-Retarget": f"#request-{service_request.id}", "HX-Reswap": "outerHTML"})
        return response
    return redirect(safe_next(request.form.get("next")) or url_for("internal.queue"), code=303)


@bp.post("/requests/<int:request_id>/claim")
@staff_required
def claim(request_id: int):
    service_request = request_for_staff(request_id)
    form = forms.VersionedForm()
    try:
        workflow.assign(service_request, current_user, current_user, seen_version=form.seen_version())
    except DomainError as error:
        return _refused(service_request, error, form)
    return _row_or_redirect(service_request)


@bp.get("/requests/<int:request_id>/assign")
@staff_required
def assign_form(request_id: int):
    """A queue row's "Assign…": the small form, loaded into the row by htmx; elsewhere the workspace's."""
    service_request = request_for_staff(request_id)
    if not permissions.can_assign_others(current_user, service_request):
        abort(403)
    if not wants_fragment():
        return redirect(url_for("internal.workspace", request_id=request_id, _anchor="assign"))
    return render("internal/_row_assign.html", r=service_request, assignees=colleagues(current_user))


@bp.post("/requests/<int:request_id>/assign")
@staff_required
def assign(request_id: int):
    service_request = request_for_staff(request_id)
    form = forms.AssignForm()
    assignee = db.session.get(User, form.assignee.data) if form.assignee.data else None
    try:
        workflow.assign(service_request, assignee, current_user, seen_version=form.seen_version())
    except DomainError as error:
        return _refused(service_request, error, form)
    if request.form.get("from") == "workspace":
        return redirect(url_for("internal.workspace", request_id=request_id), code=303)
    return _row_or_redirect(service_request)


def _refused(service_request: ServiceRequest, error: DomainError, form: Any = None) -> Response:
    """A refused or stale action changes nothing and says why. A queue row's action (an htmx post) gets
    the message; a form of the workspace gets the whole workspace as it is now — timeline, state, clocks —
    with the form as it was sent (its text kept, its version the current one), so that sending it again
    works."""
    status = 409 if isinstance(error, StaleRequest) else 422
    if htmx and not htmx.boosted and request.form.get("from") != "workspace":
        response = render("errors/_message.html", title=_("Not done"), message=str(error), status=status)
        response.headers.update({"HX-Retarget": "#messages", "HX-Reswap": "innerHTML"})
        return response
    db.session.refresh(service_request)
    return show_workspace(service_request, status=status, error=str(error), form=form)


def show_workspace(
    service_request: ServiceRequest, *, status: int = 200, error: str | None = None, form: Any = None
) -> Response:
    context = workspace_context(service_request, current_user, form)
    return render("internal/workspace.html", status=status, error=error, **context)


@bp.post("/queue/bulk-assign")
@staff_required
def bulk_assign():
    form = forms.BulkAssignForm()
    target = safe_next(form.next.data) or url_for("internal.queue")
    assignee = db.session.get(User, form.assignee.data) if form.assignee.data else None
    seen = [_id_and_version(value) for value in request.form.getlist("request_ids")]
    if not form.validate() or assignee is None or not seen or None in seen:
        flash(_("Select requests and someone to assign them to."), "error")
        return redirect(target, code=303)
    try:
        done = workflow.assign_many(
            [(request_for_staff(request_id), version) for request_id, version in seen],
            assignee,
            current_user,
        )
    except DomainError as error:
        flash(str(error), "error")
    else:
        flash(_("%(done)d assigned.", done=done), "info")
    return redirect(target, code=303)


def _id_and_version(value: str) -> tuple[int, int] | None:
    """A queue row's checkbox carries "id:version" — the version the lead saw."""
    request_id, _sep, version = value.partition(":")
    try:
        return web.whole_number(request_id), web.whole_number(version)
    except ValueError:  # not numbers, or beyond what the database holds
        return None


@bp.get("/requests/<int:request_id>")
@cached_page
@internal_viewer_required
def workspace(request_id: int):
    return show_workspace(request_for_staff(request_id))


def _act(request_id: int, form: Any, action: Any, after: Any = None) -> Response:
    """Validate, act, and show the workspace again (or what ``after`` answers); a refused or stale action
    changes nothing."""
    service_request = request_for_staff(request_id)
    if not form.validate_on_submit():
        return show_workspace(service_request, status=422, form=form)
    try:
        action(service_request, form)
    except AlreadySubmitted:
        pass  # the same form sent twice: the first one is on the workspace
    except InvalidInput as error:
        db.session.refresh(service_request)
        field = getattr(form, error.field, None)
        if field is not None:
            field.errors = [str(error)]
        return show_workspace(service_request, status=422, form=form, error=None if field else str(error))
    except DomainError as error:
        return _refused(service_request, error, form)
    if after is not None:
        return after(service_request)
    return redirect(url_for("internal.workspace", request_id=request_id), code=303)


@bp.post("/requests/<int:request_id>/status")
@staff_required
def change_status(request_id: int):
    return _act(
        request_id,
        forms.StatusForm(),
        lambda r, f: workflow.change_status(
            r, f.action.data, current_user, seen_version=f.seen_version(), note=f.note.data or ""
        ),
    )


@bp.post("/requests/<int:request_id>/reply")
@staff_required
def reply(request_id: int):
    return _act(
        request_id,
        forms.ReplyForm(),
        lambda r, f: workflow.add_reply(
            r, current_user, f.body.data, internal=f.internal.data, idempotency_key=f.idempotency_key.data
        ),
    )


@bp.post("/requests/<int:request_id>/reroute")
@staff_required
def reroute(request_id: int):
    def act(r: ServiceRequest, f: forms.RerouteForm) -> None:
        department = db.session.get(Department, f.department.data) if f.department.data else None
        if department is None:
            raise InvalidInput("department", _("Choose a department."))
        workflow.reroute(r, department, current_user, f.reason.data, seen_version=f.seen_version())

    def rerouted(r: ServiceRequest) -> Response:
        """Say where it went; stay on it if the rerouter still sees it, else back to the queue."""
        flash(
            _(
                "%(ref)s now goes to %(department)s.",
                ref=r.reference,
                department=r.department.display_name(current_language()),
            ),
            "info",
        )
        if permissions.can_view_request(current_user, r):
            return redirect(url_for("internal.workspace", request_id=r.id), code=303)
        return redirect(url_for("internal.queue"), code=303)

    return _act(request_id, forms.RerouteForm(), act, rerouted)


@bp.post("/requests/<int:request_id>/visit")
@staff_required
def schedule_visit(request_id: int):
    def act(r: ServiceRequest, f: forms.VisitForm) -> None:
        from zoneinfo import ZoneInfo

        engineer = db.session.get(User, f.engineer.data) if f.engineer.data else None
        if engineer is None:
            raise InvalidInput("engineer", _("Choose an engineer."))
        local = datetime.combine(f.day.data, f.start.data, ZoneInfo(current_user.timezone))
        workflow.schedule_visit(
            r,
            current_user,
            visit_at=local.astimezone(ZoneInfo("UTC")),
            engineer=engineer,
            duration_minutes=int(f.hours.data * 60),
            seen_version=f.seen_version(),
        )

    return _act(request_id, forms.VisitForm(), act)


@bp.post("/requests/<int:request_id>/time")
@staff_required
def log_time(request_id: int):
    return _act(
        request_id,
        forms.TimeForm(),
        lambda r, f: workflow.log_time(
            r,
            current_user,
            minutes=f.minutes.data,
            billable=f.billable.data,
            work_date=f.work_date.data,
            note=f.note.data or "",
        ),
    )


@bp.post("/requests/<int:request_id>/attachments")
@staff_required
def attach(request_id: int):
    def act(r: ServiceRequest, f: forms.AttachForm) -> None:
        uploads = [attachments.Upload(file.filename or "", file.read()) for file in f.files.data if file]
        attachments.attach_to_request(
            r,
            uploads,
            current_user,
            files=file_store(),
            max_bytes=current_app.config["UPLOAD_MAX_BYTES"],
            internal=f.internal.data,
        )

    return _act(request_id, forms.AttachForm(), act)


@bp.post("/requests/<int:request_id>/deliverables")
@staff_required
def publish_report(request_id: int):
    def act(r: ServiceRequest, f: forms.PublishReportForm) -> None:
        reports.publish(
            r,
            current_user,
            title=f.title.data or "",
            summary=f.summary.data or "",
            upload=attachments.Upload(f.file.data.filename or "", f.file.data.read()),
            files=file_store(),
            max_bytes=current_app.config["UPLOAD_MAX_BYTES"],
            idempotency_key=f.idempotency_key.data,
        )

    return _act(request_id, forms.PublishReportForm(), act)


@bp.get("/attachments/<int:attachment_id>")
@sends_file
@internal_viewer_required
def download_attachment(attachment_id: int):
    attachment = attachment_for_viewer(attachment_id)
    return web.send_stored(attachment)
