"""Finance: contracts of all accounts, service summary PDFs per account and period, billable work CSV. Every
download is audited."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, abort, request
from flask_login import current_user
from sqlalchemy import select

from portal.access import roles_required
from portal.extensions import db
from portal.finance import forms
from portal.i18n import current_language
from portal.internal.forms import options
from portal.models import Account
from portal.rendering import render
from portal.services import audit, billing, kpi, overview, summaries
from portal.services.errors import InvalidInput
from portal.timeutil import today_for

bp = Blueprint("finance", __name__, url_prefix="/finance")
finance_required = roles_required("finance", "admin")


def _form() -> forms.SummaryForm:
    form = forms.SummaryForm(request.args)
    accounts = db.session.scalars(select(Account).order_by(Account.name))
    form.account.choices = options([(str(a.id), a.display_name(current_language())) for a in accounts])
    if not request.args.get("period"):
        form.period.data = "last_month"
    form.validate()
    return form


def _period(form: forms.SummaryForm):  # noqa: ANN202
    try:
        return kpi.period_bounds(
            form.period.data or "last_month",
            today_for(current_user),
            None if form.start.errors else form.start.data,
            None if form.end.errors else form.end.data,
        )
    except InvalidInput:
        abort(400)


@bp.get("/")
@finance_required
def home():
    form = _form()
    return render("finance/home.html", home=overview.finance_home(today_for(current_user)), form=form)


@bp.get("/summary.pdf")
@finance_required
def summary_pdf():
    form = _form()
    account_id = int(form.account.data) if (form.account.data or "").isdigit() else None
    account = db.session.get(Account, account_id) if account_id else None
    if account is None:
        abort(404)
    start, end = _period(form)
    language = form.language.data if form.language.data in ("zh", "en") else account.preferred_language
    pdf = summaries.render_pdf(summaries.gather(account, start, end, language))
    audit.record(
        "finance.summary_downloaded",
        actor=current_user,
        obj=account,
        ip_address=request.remote_addr or "",
        start=start.isoformat(),
        end=end.isoformat(),
        language=language,
    )
    db.session.commit()
    name = f"summary-{account.id}-{start.isoformat()}-{end.isoformat()}-{language}.pdf"
    return Response(
        pdf, mimetype="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@bp.get("/billable.csv")
@finance_required
def billable_csv():
    form = _form()
    start, end = _period(form)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(billing.COLUMNS)
    writer.writerows(billing.rows(start, end))
    audit.record(
        "finance.billable_exported",
        actor=current_user,
        ip_address=request.remote_addr or "",
        start=start.isoformat(),
        end=end.isoformat(),
    )
    db.session.commit()
    name = f"billable-{start.isoformat()}-{end.isoformat()}.csv"
    return Response(
        "\ufeff" + out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
