"""The audit log for admins: filtered by person, action, object and days (in the admin's time zone), paged
newest first, action names in words, and the same selection as CSV — and the background work: what the
task queue holds, emails not sent yet or given up on, the export jobs (a failed one run again)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm

from portal import web
from portal.admin import bp, forms
from portal.admin.views import admin_required
from portal.labels import LABELS, label
from portal.rendering import render, sends_file
from portal.services import audit
from portal.services.reporting import exports
from portal.timeutil import end_of_day, start_of_day, zone_of


def _form() -> tuple[forms.AuditFilterForm, audit.AuditFilters]:
    form = forms.AuditFilterForm(request.args)
    families = sorted({code.split(".")[0] + "." for code in LABELS["audit_action"]})
    form.action.choices = web.options(
        [(code, label("audit_action", code)) for code in LABELS["audit_action"]]
        + [(family, f"{family}*") for family in families],
        _l("All"),
    )
    form.object_type.choices = web.options(
        [(code, label("audit_object", code)) for code in LABELS["audit_object"]], _l("All")
    )
    form.validate()
    zone = zone_of(current_user)
    since = form.since.data if not form.since.errors else None
    until = form.until.data if not form.until.errors else None
    if since and until and until < since:
        form.until.errors = [str(web.PERIOD_BACKWARDS)]
        until = None
    filters = audit.AuditFilters(
        person=(form.person.data or "").strip() or None,
        action=form.action.data or None,
        object_type=form.object_type.data or None,
        object_id=(form.object_id.data or "").strip() or None,
        since=start_of_day(since, zone) if since else None,
        until=end_of_day(until, zone) if until else None,
    )
    return form, filters


def _args(**extra: Any) -> dict[str, Any]:
    return {**{k: v for k, v in request.args.items() if v and k != "before"}, **extra}


@bp.get("/audit")
@admin_required
def audit_log():
    form, filters = _form()
    rows = audit.search(filters, request.args.get("before", type=web.whole_number))
    more = len(rows) > audit.PAGE_SIZE
    rows = rows[: audit.PAGE_SIZE]
    return render(
        "admin/audit.html",
        block="results",
        form=form,
        rows=rows,
        next_url=url_for("admin.audit_log", **_args(before=rows[-1].id)) if more else None,
        first_url=url_for("admin.audit_log", **_args()) if request.args.get("before") else None,
        csv_url=url_for("admin.audit_csv", **_args()),
    )


@bp.get("/audit.csv")
@sends_file
@admin_required
def audit_csv():
    _unused, filters = _form()
    audit.log("audit.exported", actor=current_user, ip_address=request.remote_addr or "")
    rows = (
        [
            event.created_at.isoformat(),
            event.actor.email if event.actor else event.actor_email,
            event.action,
            label("audit_action", event.action),
            event.object_type,
            event.object_id,
            event.ip_address,
            event.detail.get("route", ""),
        ]
        for event in audit.every(filters)
    )
    header = ["when_utc", "person", "action", "action_name", "object", "object_id", "address", "route"]
    return web.csv_download(header, rows, "audit-log.csv")


# --- background work ----------------------------------------------------------------------------------


@bp.get("/jobs")
@admin_required
def background_work():
    from portal.tasks import huey

    return render("admin/jobs.html", work=exports.work_overview(huey.pending_count()))


@bp.post("/jobs/<int:job_id>/retry")
@admin_required
def retry_job(job_id: int):
    if not FlaskForm().validate_on_submit():
        abort(400)
    if exports.try_again(job_id, current_user):
        flash(_("The export is queued again."), "info")
    else:
        flash(_("It is not failed (any more): nothing to try again."), "info")
    return redirect(url_for("admin.background_work"), code=303)
