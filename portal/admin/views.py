"""System administration: routing rules with a live preview, SLA targets, the business calendar."""

from __future__ import annotations

import re
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from portal import web
from portal.access import roles_required
from portal.admin import bp, forms
from portal.extensions import db
from portal.i18n import current_language
from portal.labels import label
from portal.models import Department, RoutingRule, User
from portal.models.accounts import TIERS
from portal.models.requests import PRIORITIES
from portal.rendering import render
from portal.services import overview
from portal.services.errors import InvalidInput, Problems
from portal.services.requests import policies, routing
from portal.web import options

admin_required = roles_required("admin")
_SEEDED_NAME = re.compile(r"^([a-z_]+)/([a-z_]+|\*) → ([a-z_]+)$")


@bp.app_template_global()
def rule_title(rule: RoutingRule) -> str:
    """A rule's name; one the portal seeded ("pre_sale/consultation → sales") in words, in the reader's
    language ("Pre-sale service · Product consultation → Sales")."""
    seeded = _SEEDED_NAME.match(rule.name or "")
    if not seeded:
        return rule.name
    category, subtype, department = seeded.groups()
    what = label("category", category) + ("" if subtype == "*" else " · " + label("subtype", subtype))
    return f"{what} → {label('department', department)}"


@bp.get("/")
@admin_required
def home():
    return render("admin/home.html", home=overview.admin_home())


def _rule_form(rule: RoutingRule | None = None) -> forms.RuleForm:
    form = forms.RuleForm(obj=None)
    departments = db.session.scalars(select(Department).order_by(Department.id))
    form.department.choices = options([(str(d.id), d.display_name(current_language())) for d in departments])
    staff = db.session.scalars(
        select(User).where(User.role.in_(("agent", "lead")), User.active).order_by(User.full_name)
    )
    form.default_assignee.choices = options([(str(u.id), u.full_name) for u in staff], _("Nobody"))
    if rule is not None and request.method == "GET":
        for name in routing.CRITERIA:
            getattr(form, name).data = getattr(rule, name) or ""
        form.name.data, form.active.data = rule.name, rule.active
        form.department.data = str(rule.department_id)
        form.default_assignee.data = str(rule.default_assignee_id or "")
    return form


def _draft(form: forms.RuleForm) -> routing.RuleDraft:
    return routing.RuleDraft(
        name=(form.name.data or "").strip(),
        department_id=web.optional_id(form.department.data) or 0,
        category=form.category.data or None,
        subtype=form.subtype.data or None,
        tier=form.tier.data or None,
        industry=form.industry.data or None,
        priority=form.priority.data or None,
        default_assignee_id=web.optional_id(form.default_assignee.data),
        active=bool(form.active.data),
    )


def _departments() -> list[Department]:
    return list(db.session.scalars(select(Department).order_by(Department.id)))


def _rule_or_404(rule_id: int) -> RoutingRule:
    rule = db.session.get(RoutingRule, rule_id)
    if rule is None:
        abort(404)
    return rule


def _intake_form() -> forms.MailIntakeForm:
    form = forms.MailIntakeForm()
    if request.method == "GET":
        intake = routing.mail_intake()
        form.accepts_new_requests.data = intake.accepts_new_requests
        form.service.data = f"{intake.category}/{intake.subtype}"
        form.priority.data = intake.priority
    return form


def _routing_page(status: int = 200, **forms_shown: Any) -> Response:
    return render(
        "admin/routing.html",
        status=status,
        rules=routing.all_rules(),
        form=forms_shown.get("form") or _rule_form(),
        intake=forms_shown.get("intake") or _intake_form(),
        sample=forms.SampleForm(),
        confirm=forms.ConfirmForm(),
        departments=_departments(),
    )


@bp.get("/routing")
@admin_required
def routing_rules():
    return _routing_page()


@bp.post("/routing/email")
@admin_required
def update_mail_intake():
    """The "requests by email" settings: every problem shown in place, nothing saved until all are right."""
    intake = _intake_form()
    if not intake.validate_on_submit():
        return _routing_page(422, intake=intake)
    category, _slash, subtype = (intake.service.data or "").partition("/")
    try:
        routing.update_mail_intake(
            bool(intake.accepts_new_requests.data),
            category,
            subtype,
            intake.priority.data or "",
            current_user,
        )
    except InvalidInput as error:
        web.show_errors(intake, error.errors, fallback="service")
        return _routing_page(422, intake=intake)
    flash(_("The settings for requests by email are saved."), "info")
    return redirect(url_for("admin.routing_rules", _anchor="email-title"), code=303)


@bp.post("/departments/<int:department_id>/auto-assign")
@admin_required
def toggle_auto_assign(department_id: int):
    department = db.session.get(Department, department_id)
    if department is None:
        abort(404)
    if forms.ConfirmForm().validate_on_submit():
        routing.set_auto_assign(department, not department.auto_assign, current_user)
    return redirect(web.safe_next(request.form.get("next")) or url_for("admin.routing_rules"), code=303)


@bp.get("/routing/<int:rule_id>")
@admin_required
def edit_rule(rule_id: int):
    rule = _rule_or_404(rule_id)
    return render("admin/rule.html", rule=rule, form=_rule_form(rule), sample=forms.SampleForm())


def _save(rule: RoutingRule | None) -> Response:
    form = _rule_form(rule)

    def refused() -> Response:
        if rule is None:
            return _routing_page(422, form=form)
        return render("admin/rule.html", form=form, status=422, rule=rule, sample=forms.SampleForm())

    if not form.validate_on_submit():
        return refused()
    try:
        if rule is None:
            routing.create_rule(_draft(form), current_user)
        else:
            routing.update_rule(rule, _draft(form), current_user)
    except InvalidInput as error:
        field = getattr(form, error.field.removesuffix("_id"), form.name)
        field.errors = [str(error)]
        return refused()
    flash(_("The routing rules are saved."), "info")
    return redirect(url_for("admin.routing_rules"), code=303)


@bp.post("/routing")
@admin_required
def create_rule():
    return _save(None)


@bp.post("/routing/<int:rule_id>")
@admin_required
def update_rule(rule_id: int):
    return _save(_rule_or_404(rule_id))


@bp.post("/routing/<int:rule_id>/move")
@admin_required
def move_rule(rule_id: int):
    if forms.ConfirmForm().validate_on_submit():
        routing.move_rule(
            _rule_or_404(rule_id), -1 if request.form.get("direction") == "up" else 1, current_user
        )
    return redirect(url_for("admin.routing_rules"), code=303)


@bp.post("/routing/<int:rule_id>/active")
@admin_required
def toggle_rule(rule_id: int):
    rule = _rule_or_404(rule_id)
    if forms.ConfirmForm().validate_on_submit():
        routing.set_rule_active(rule, not rule.active, current_user)
    return redirect(url_for("admin.routing_rules"), code=303)


@bp.get("/routing/preview")
@admin_required
def preview_rule():
    """Where the sample request would go if the rule being edited were saved as it stands."""
    form = _rule_form()
    form.process(request.args)
    sample = forms.SampleForm(request.args)
    facts = {name: getattr(sample, f"sample_{name}").data or "" for name in routing.CRITERIA}
    replacing = request.args.get("rule_id", type=web.whole_number)
    draft = _draft(form) if form.department.data else None
    hit = routing.preview_route(facts, draft, replacing)
    return render(
        "admin/_preview.html",
        hit=hit,
        is_draft=bool(hit is not None and hit.id in (None, replacing)),
        draft=draft,
    )


@bp.get("/sla")
@admin_required
def sla_policies():
    return render(
        "admin/sla.html",
        table=policies.policy_table(),
        tiers=TIERS,
        priorities=PRIORITIES,
        confirm=forms.ConfirmForm(),
        errors={},
    )


@bp.post("/sla")
@admin_required
def save_sla_policies():
    confirm = forms.ConfirmForm()
    targets: dict[tuple[str, str], tuple[int, int]] = {}
    errors: dict[str, str] = {}
    for tier in TIERS:
        for priority in PRIORITIES:
            try:
                first = round(float(request.form[f"first_{tier}_{priority}"]) * 60)
                resolution = round(float(request.form[f"resolution_{tier}_{priority}"]) * 60)
                targets[(tier, priority)] = (first, resolution)
            except (KeyError, ValueError):
                errors[f"{tier}_{priority}"] = _("Give both targets in hours.")
    problems = Problems()
    policies.check_sla_targets(targets, problems)  # the rows that parsed, flagged beside those that did not
    errors.update(problems.errors)
    if confirm.validate_on_submit() and not errors:
        try:
            policies.update_sla_targets(targets, current_user)
            flash(_("The SLA targets are saved."), "info")
            return redirect(url_for("admin.sla_policies"), code=303)
        except InvalidInput as error:
            errors.update(error.errors)
    return render(
        "admin/sla.html",
        table=policies.policy_table(),
        tiers=TIERS,
        priorities=PRIORITIES,
        confirm=confirm,
        errors=errors,
        submitted=request.form,
        status=422,
    )


@bp.get("/calendar")
@admin_required
def calendar():
    cal = policies.default_calendar()
    form = forms.CalendarForm(
        workday_start=cal.workday_start,
        workday_end=cal.workday_end,
        weekdays=list(cal.working_weekdays),
        use_public_holidays=cal.use_public_holidays,
    )
    return render(
        "admin/calendar.html",
        calendar=cal,
        form=form,
        exception_form=forms.ExceptionForm(),
        confirm=forms.ConfirmForm(),
    )


@bp.post("/calendar")
@admin_required
def save_calendar():
    cal = policies.default_calendar()
    form = forms.CalendarForm()
    if form.validate_on_submit():
        try:
            policies.update_calendar(
                cal,
                start=form.workday_start.data,
                end=form.workday_end.data,
                weekdays="".join(form.weekdays.data or []),
                use_public_holidays=form.use_public_holidays.data,
                actor=current_user,
            )
            flash(_("The business calendar is saved."), "info")
            return redirect(url_for("admin.calendar"), code=303)
        except InvalidInput as error:
            web.show_errors(form, error.errors, fallback="weekdays")
    return render(
        "admin/calendar.html",
        calendar=cal,
        form=form,
        exception_form=forms.ExceptionForm(),
        confirm=forms.ConfirmForm(),
        status=422,
    )


@bp.post("/calendar/exceptions")
@admin_required
def add_calendar_exception():
    cal = policies.default_calendar()
    form = forms.ExceptionForm()
    if form.validate_on_submit():
        policies.set_exception(cal, form.day.data, form.kind.data == "on", form.note.data or "", current_user)
        return redirect(url_for("admin.calendar"), code=303)
    return render(
        "admin/calendar.html",
        calendar=cal,
        form=forms.CalendarForm(formdata=None, obj=None),
        exception_form=form,
        confirm=forms.ConfirmForm(),
        status=422,
    )


@bp.post("/calendar/exceptions/<int:exception_id>/delete")
@admin_required
def remove_calendar_exception(exception_id: int):
    if forms.ConfirmForm().validate_on_submit():
        try:
            policies.remove_exception(policies.default_calendar(), exception_id, current_user)
        except InvalidInput:
            abort(404)
    return redirect(url_for("admin.calendar"), code=303)
