"""Service management: the policy's five KPIs with trends, filters, cohort comparison, drill-down to the
requests behind every number, CSV export, and the weights of the composite score."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from portal import web
from portal.access import roles_required
from portal.extensions import db
from portal.i18n import current_language
from portal.manager import forms
from portal.models import Account, Department, ServiceRequest
from portal.models.kpi import INDICATORS
from portal.models.pipeline import PROSPECT_STAGES
from portal.page_cache import cached_page
from portal.rendering import render, sends_file
from portal.services import audit
from portal.services.errors import InvalidInput
from portal.services.reporting import funnel, kpi
from portal.timeutil import today_for
from portal.web import options

bp = Blueprint("manager", __name__, url_prefix="/manager")
manager_required = roles_required("manager", "admin")
DRILL_LIMIT = 500


def _filters() -> tuple[forms.KpiFilterForm, kpi.Scope, Account | None]:
    form = forms.KpiFilterForm(request.args)
    departments = db.session.scalars(select(Department).order_by(Department.id))
    form.department.choices = options(
        [(str(d.id), d.display_name(current_language())) for d in departments], _("All")
    )
    accounts = db.session.scalars(select(Account).where(Account.active).order_by(Account.name))
    form.account.choices = options(
        [(str(a.id), a.display_name(current_language())) for a in accounts], _("All")
    )
    form.validate()
    today = today_for(current_user)
    try:
        start, end = kpi.period_bounds(
            form.period.data or "this_quarter",
            today,
            None if form.start.errors else form.start.data,
            None if form.end.errors else form.end.data,
        )
    except InvalidInput:
        form.end.errors = [str(web.PERIOD_BACKWARDS)]
        start, end = kpi.period_bounds("this_quarter", today)

    account = db.session.get(Account, form.account.data) if form.account.data else None
    scope = kpi.Scope(
        start=start,
        end=end,
        department_id=form.department.data,
        industry=form.industry.data or None,
        size=form.size.data or None,
        tier=form.tier.data or None,
        account_id=account.id if account else None,
        zone=current_user.timezone or "Asia/Shanghai",
    )
    return form, scope, account


def _args() -> dict[str, str]:
    return {k: v for k, v in request.args.items() if v and k not in ("measure", "stage")}


@bp.get("/")
@cached_page
@manager_required
def home():
    form, scope, account = _filters()
    found, trend = kpi.assess_with_trend(scope)
    chosen = kpi.weights()
    return render(
        "manager/home.html",
        form=form,
        scope=scope,
        found=found,
        account=account,
        cohort=kpi.assess(scope.cohort(account), chosen) if account else None,
        trend=trend,
        weights=chosen,
        weights_form=forms.WeightsForm(formdata=None, **chosen),
        indicators=INDICATORS,
        drill=lambda measure: url_for("manager.drill_down", measure=measure, **_args()),
        trend_points=lambda name: [
            (format_date(start, "MMM" if current_language() == "en" else "M月"), ind.scores.get(name))
            for start, ind in trend
        ],
        csv_url=url_for("manager.export_csv", **_args()),
        funnel=funnel.assess(scope),
        funnel_drill=lambda measure, **more: url_for(
            "manager.funnel_behind", measure=measure, **_args(), **more
        ),
    )


@bp.get("/pipeline")
@manager_required
def funnel_behind():
    """What one of the funnel's figures counts."""
    form, scope, _account = _filters()
    measure = request.args.get("measure", "")
    if measure not in funnel.MEASURES:
        measure = "recorded"
    stage = request.args.get("stage") or None
    return render(
        "manager/pipeline.html",
        scope=scope,
        measure=measure,
        stage=stage if stage in PROSPECT_STAGES else None,
        rows=funnel.behind(scope, measure, current_language(), stage, limit=DRILL_LIMIT),
        back=url_for("manager.home", **{k: v for k, v in _args().items() if k != "stage"}),
    )


@bp.get("/requests")
@manager_required
def drill_down():
    form, scope, account = _filters()
    measure = request.args.get("measure", "")
    if measure not in kpi.MEASURES:
        measure = "resolved"
    query = kpi.requests_behind(scope, measure)
    rows = list(
        db.session.scalars(
            query.options(
                selectinload(ServiceRequest.account),
                joinedload(ServiceRequest.prospect),
                selectinload(ServiceRequest.department),
                selectinload(ServiceRequest.assignee),
            )
            .order_by(ServiceRequest.created_at.desc(), ServiceRequest.id.desc())
            .limit(DRILL_LIMIT + 1)
        )
    )
    return render(
        "manager/requests.html",
        form=form,
        scope=scope,
        measure=measure,
        rows=rows[:DRILL_LIMIT],
        more=len(rows) > DRILL_LIMIT,
        back=url_for("manager.home", **_args()),
    )


def _csv_rows(label: str, found: kpi.Indicators) -> list[list[Any]]:
    def rate(value: float | None) -> str:
        return "" if value is None else f"{value:.4f}"

    return [
        [label, "satisfaction", "csat_mean", "" if found.csat_mean is None else f"{found.csat_mean:.3f}"],
        [label, "satisfaction", "csat_answers", found.csat_answers],
        [label, "satisfaction", "nps", "" if found.nps is None else found.nps],
        [label, "satisfaction", "response_rate", rate(found.response_rate)],
        [label, "quality", "resolved", found.resolved],
        [label, "quality", "resolved_within_sla_rate", rate(found.within_sla_rate)],
        [label, "quality", "reopen_rate", rate(found.reopen_rate)],
        [
            label,
            "efficiency",
            "median_first_response_business_minutes",
            found.median_first_response_minutes or "",
        ],
        [label, "efficiency", "median_resolution_business_minutes", found.median_resolution_minutes or ""],
        [label, "efficiency", "first_response_within_target_rate", rate(found.first_response_rate)],
        [label, "relationship", "contacts", found.contacts],
        [label, "relationship", "contacts_expected", found.contacts_expected],
        [label, "relationship", "accounts_overdue", found.accounts_overdue],
        [label, "value_added", "delivered", found.delivered],
        [label, "value_added", "on_time_rate", rate(found.on_time_rate)],
        *[[label, "score", name, "" if value is None else value] for name, value in found.scores.items()],
        [label, "score", "composite", "" if found.composite is None else found.composite],
    ]


@bp.get("/kpi.csv")
@sends_file
@manager_required
def export_csv():
    form, scope, account = _filters()
    rows = _csv_rows(account.name if account else "selection", kpi.assess(scope))
    if account is not None:
        rows += _csv_rows("cohort", kpi.assess(scope.cohort(account)))
    audit.log("kpi.exported", actor=current_user, start=scope.start.isoformat(), end=scope.end.isoformat())
    name = f"kpi-{scope.start.isoformat()}-{scope.end.isoformat()}.csv"
    return web.csv_download(["scope", "indicator", "measure", "value"], rows, name)


@bp.post("/weights")
@manager_required
def save_weights():
    form = forms.WeightsForm()
    if form.validate_on_submit():
        try:
            kpi.set_weights(current_user, {name: getattr(form, name).data for name in INDICATORS})
            flash(_("The weights are saved."), "info")
        except InvalidInput:
            flash(_("Give at least one indicator a weight above 0."), "error")
    else:
        flash(_("Each weight is a whole number from 0 to 100."), "error")
    return redirect(
        request.referrer
        if (request.referrer or "").startswith(request.host_url)
        else url_for("manager.home"),
        code=303,
    )
