"""Finance: contracts of all accounts, service summary PDFs per account and period, billable work CSV. Every
download is audited."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response

from portal import web
from portal.access import roles_required
from portal.extensions import db
from portal.finance import forms
from portal.i18n import current_language
from portal.models import Account, Attachment, ExportJob, Statement
from portal.rendering import render, sends_file
from portal.services import audit, overview
from portal.services.errors import InvalidInput
from portal.services.reporting import billing, exports, kpi, summaries
from portal.timeutil import today_for
from portal.uploads import file_store
from portal.web import options

bp = Blueprint("finance", __name__, url_prefix="/finance")
finance_required = roles_required("finance", "admin")


def _form() -> forms.SummaryForm:
    form = forms.SummaryForm(request.values)
    accounts = db.session.scalars(select(Account).order_by(Account.name))
    form.account.choices = options([(str(a.id), a.display_name(current_language())) for a in accounts])
    if not request.values.get("period"):
        form.period.data = "last_month"
    form.validate()
    return form


def _period(form: forms.SummaryForm) -> tuple[date, date] | None:
    """The chosen period, or None with the problem under its field (a custom period needs both days, and
    cannot end before it starts)."""
    if form.period.data == "custom":
        if not form.start.data and not form.start.errors:
            form.start.errors = [_("Choose the first day.")]
        if not form.end.data and not form.end.errors:
            form.end.errors = [_("Choose the last day.")]
        if form.start.errors or form.end.errors:
            return None
    try:
        return kpi.period_bounds(
            form.period.data or "last_month",
            today_for(current_user),
            None if form.start.errors else form.start.data,
            None if form.end.errors else form.end.data,
        )
    except InvalidInput:
        form.end.errors = [str(web.PERIOD_BACKWARDS)]
        return None


def _account(form: forms.SummaryForm) -> Account | None:
    account = db.session.get(Account, form.account.data) if form.account.data else None
    if account is None:
        form.account.errors = [_("Choose an account.")]
    return account


def _home(form: forms.SummaryForm, status: int = 200) -> Response:
    return render(
        "finance/home.html",
        home=overview.finance_home(today_for(current_user)),
        form=form,
        statements=exports.statements(),
        status=status,
    )


@bp.get("/")
@finance_required
def home():
    return _home(_form())


@bp.get("/summary.pdf")
@sends_file
@finance_required
def summary_pdf():
    form = _form()
    account, period = _account(form), _period(form)
    if account is None or period is None:
        return _home(form, 422)
    start, end = period
    language = form.language.data if form.language.data in ("zh", "en") else account.preferred_language
    pdf = summaries.render_pdf(summaries.gather(account, start, end, language))
    audit.log(
        "finance.summary_downloaded",
        actor=current_user,
        obj=account,
        ip_address=request.remote_addr or "",
        start=start.isoformat(),
        end=end.isoformat(),
        language=language,
    )
    name = summaries.file_name(account, start, end, language)
    return web.download(pdf, name, "application/pdf")


@bp.get("/billable.csv")
@sends_file
@finance_required
def billable_csv():
    form = _form()
    period = _period(form)
    if period is None:
        return _home(form, 422)
    start, end = period
    audit.log(
        "finance.billable_exported",
        actor=current_user,
        ip_address=request.remote_addr or "",
        start=start.isoformat(),
        end=end.isoformat(),
    )
    name = f"billable-{start.isoformat()}-{end.isoformat()}.csv"
    return web.csv_download(billing.COLUMNS, billing.rows(start, end), name)


# --- all accounts as one ZIP, built in the background ----------------------------------------------------


@bp.post("/exports")
@finance_required
def start_export():
    form = _form()
    if not FlaskForm().validate_on_submit():
        abort(400)
    period = _period(form)
    if period is None:
        return _home(form, 422)
    start, end = period
    job = exports.start_zip(current_user, start, end)
    return redirect(url_for("finance.export_progress", job_id=job.id), code=303)


def _job_or_404(job_id: int) -> ExportJob:
    job = db.session.get(ExportJob, job_id)
    if job is None:
        abort(404)
    return job


@bp.get("/exports/<int:job_id>")
@finance_required
def export_progress(job_id: int):
    """The page, or (for htmx polling) only its progress fragment, which stops polling once finished."""
    return render("finance/export.html", block="progress", job=_job_or_404(job_id))


@bp.get("/exports/<int:job_id>/download")
@sends_file
@finance_required
def download_export(job_id: int):
    job = _job_or_404(job_id)
    if job.state != "done" or job.attachment_id is None:
        abort(404)
    return _send_audited(db.session.get(Attachment, job.attachment_id), "finance.zip_downloaded", job)


# --- monthly statements ----------------------------------------------------------------------------------


@bp.get("/statements/<int:statement_id>/download")
@sends_file
@finance_required
def download_statement(statement_id: int):
    statement = db.session.get(Statement, statement_id)
    if statement is None:
        abort(404)
    return _send_audited(
        db.session.get(Attachment, statement.attachment_id), "finance.statement_downloaded", statement
    )


@bp.post("/statements")
@finance_required
def reissue_statement():
    form = _form()
    if not FlaskForm().validate_on_submit():
        abort(400)
    account, period = _account(form), _period(form)
    if account is None or period is None:
        return _home(form, 422)
    start, end = period
    statement = exports.issue_statement(account, start, end, file_store(), current_user)
    assert statement is not None  # a re-issue always makes the next version
    flash(_("Statement version %(v)d is issued.", v=statement.version), "info")
    return redirect(url_for("finance.home"), code=303)


def _send_audited(attachment: Attachment | None, action: str, obj: object):  # noqa: ANN202
    if attachment is None:
        abort(404)
    audit.log(action, actor=current_user, obj=obj, ip_address=request.remote_addr or "")
    return web.send_stored(attachment)
