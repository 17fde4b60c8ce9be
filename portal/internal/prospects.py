"""Potential key accounts for marketing and sales: the board by stage (filtered by source, owner, name), a
form to record one, and the prospect's page — screen it (qualify to a sales owner, or reject), record the
first contact and the needs analysis, add a note, mark it lost, ask for pre-sale work (a request routed
and timed as any other) — with everything done on it."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from portal import permissions, web
from portal.access import internal_viewer_required, prospect_for_viewer
from portal.extensions import db
from portal.internal import bp, forms
from portal.models import Prospect, User
from portal.models.pipeline import PROSPECT_STAGES
from portal.rendering import render
from portal.services.errors import DomainError, InvalidInput, Problems
from portal.services.pipeline import proposals, prospects
from portal.services.requests import intake, workflow
from portal.services.submissions import AlreadySubmitted
from portal.timeutil import today_for
from portal.uploads import file_store, uploads_of


def _owners(field: Any, blank: object) -> None:
    field.choices = web.options([(str(u.id), u.full_name) for u in prospects.sales_people()], blank)


@bp.get("/prospects")
@internal_viewer_required
def prospects_board():
    if not permissions.sees_prospects(current_user):
        abort(403)
    form = forms.ProspectFilterForm(request.args)
    _owners(form.owner, _l("All"))
    form.validate()
    filters = prospects.ProspectFilters(
        search=form.q.data or "", source=form.source.data or "", owner_id=form.owner.data
    )
    return render(
        "internal/prospects.html",
        block="board",
        form=form,
        board=prospects.board(current_user, filters),
        stages=PROSPECT_STAGES,
    )


@bp.get("/prospects/new")
@internal_viewer_required
def new_prospect():
    if not permissions.can_record_prospect(current_user):
        abort(403)
    return render("internal/prospect_new.html", form=forms.ProspectForm(formdata=None))


@bp.post("/prospects")
@internal_viewer_required
def record_prospect():
    if not permissions.can_record_prospect(current_user):
        abort(403)
    form = forms.ProspectForm()
    valid = form.validate()
    details = prospects.ProspectDetails(
        **{name: getattr(form, name).data or "" for name in prospects.ProspectDetails.__dataclass_fields__}
    )
    try:
        if not valid:
            prospects.check(details)  # the rest of what is wrong, all at once
        else:
            prospect = prospects.record(current_user, details)
            flash(_("%(name)s is recorded: screen it next.", name=prospect.name), "info")
            return redirect(url_for("internal.prospect", prospect_id=prospect.id), code=303)
    except InvalidInput as error:
        web.show_errors(form, error.errors, fallback="name")
    return render("internal/prospect_new.html", form=form, status=422)


def _page(prospect: Prospect, status: int = 200, **kept: Any) -> Response:
    qualify = kept.get("qualify") or forms.QualifyForm(formdata=None)
    _owners(qualify.owner_id, "–")
    return render(
        "internal/prospect.html",
        prospect=prospect,
        qualify=qualify,
        reject=kept.get("reject") or forms.ReasonForm(formdata=None, prefix="reject"),
        lose=kept.get("lose") or forms.ReasonForm(formdata=None, prefix="lose"),
        step=kept.get("step") or forms.ProspectStepForm(formdata=None),
        note=kept.get("note") or forms.ProspectNoteForm(formdata=None),
        proposals=proposals.of_prospect(prospect),
        presale_requests=intake.of_prospect(prospect),
        today=today_for(current_user),
        next_step=next(
            (s for s, (_stage, after) in prospects.STEPS.items() if prospect.stage in after), None
        ),
        status=status,
    )


@bp.get("/prospects/<int:prospect_id>")
@internal_viewer_required
def prospect(prospect_id: int):
    return _page(prospect_for_viewer(prospect_id))


def _act(prospect: Prospect, form: Any, name: str, action: Any, fallback: str) -> Response:
    """Run one step of the prospect's page: back to the page, or the page again with the problems."""
    if form.validate_on_submit():
        try:
            action()
        except InvalidInput as error:
            web.show_errors(form, error.errors, fallback=fallback)
            return _page(prospect, status=422, **{name: form})
        except DomainError as error:
            flash(str(error), "error")
        return redirect(url_for("internal.prospect", prospect_id=prospect.id), code=303)
    return _page(prospect, status=422, **{name: form})


@bp.post("/prospects/<int:prospect_id>/qualification")
@internal_viewer_required
def qualify_prospect(prospect_id: int):
    prospect = prospect_for_viewer(prospect_id)
    form = forms.QualifyForm()
    _owners(form.owner_id, "–")
    owner = db.session.get(User, form.owner_id.data) if form.owner_id.data else None
    return _act(
        prospect,
        form,
        "qualify",
        lambda: prospects.qualify(current_user, prospect, owner, form.note.data or ""),
        "owner_id",
    )


@bp.post("/prospects/<int:prospect_id>/rejection")
@internal_viewer_required
def reject_prospect(prospect_id: int):
    prospect = prospect_for_viewer(prospect_id)
    form = forms.ReasonForm(prefix="reject")
    return _act(
        prospect,
        form,
        "reject",
        lambda: prospects.reject(current_user, prospect, form.reason.data or ""),
        "reason",
    )


def _step(prospect_id: int, step: str) -> Response:
    prospect = prospect_for_viewer(prospect_id)
    form = forms.ProspectStepForm()
    return _act(
        prospect,
        form,
        "step",
        lambda: prospects.take_step(current_user, prospect, step, form.notes.data or ""),
        "notes",
    )


@bp.post("/prospects/<int:prospect_id>/first-contact")
@internal_viewer_required
def record_first_contact(prospect_id: int):
    return _step(prospect_id, "first_contact")


@bp.post("/prospects/<int:prospect_id>/needs-analysis")
@internal_viewer_required
def record_needs_analysis(prospect_id: int):
    return _step(prospect_id, "needs_analysis")


@bp.post("/prospects/<int:prospect_id>/notes")
@internal_viewer_required
def note_prospect(prospect_id: int):
    prospect = prospect_for_viewer(prospect_id)
    form = forms.ProspectNoteForm()
    return _act(
        prospect,
        form,
        "note",
        lambda: prospects.add_note(current_user, prospect, form.body.data or ""),
        "body",
    )


@bp.post("/prospects/<int:prospect_id>/loss")
@internal_viewer_required
def lose_prospect(prospect_id: int):
    prospect = prospect_for_viewer(prospect_id)
    form = forms.ReasonForm(prefix="lose")
    return _act(
        prospect,
        form,
        "lose",
        lambda: prospects.lose(current_user, prospect, form.reason.data or ""),
        "reason",
    )


# --- pre-sale requests ------------------------------------------------------------------------------------


def _prospect_to_ask_for(prospect_id: int) -> Prospect:
    prospect = prospect_for_viewer(prospect_id)
    if not permissions.can_work_prospect(current_user, prospect):
        abort(403)
    return prospect


def _presale_page(prospect: Prospect, form: forms.PresaleRequestForm, status: int = 200) -> Response:
    return render(
        "internal/presale_request_new.html",
        prospect=prospect,
        form=form,
        required=intake.required_fields("pre_sale", form.subtype.data or ""),
        status=status,
    )


@bp.get("/prospects/<int:prospect_id>/requests/new")
@internal_viewer_required
def new_presale_request(prospect_id: int):
    prospect = _prospect_to_ask_for(prospect_id)
    return _presale_page(prospect, forms.PresaleRequestForm())


@bp.post("/prospects/<int:prospect_id>/requests")
@internal_viewer_required
def file_presale_request(prospect_id: int):
    prospect = _prospect_to_ask_for(prospect_id)
    form = forms.PresaleRequestForm()
    today = today_for(current_user)
    problems = Problems()
    # Every problem at once: the form's own, the service's rules and the files.
    valid = form.validate_on_submit()
    uploads = uploads_of(form.files)
    details = {
        name: getattr(form, name).data
        for name in ("project_background", "budget_range", "decision_timeline")
        if getattr(form, name).data not in (None, "")
    }
    intake.check_details("pre_sale", form.subtype.data or "", details, today, problems)
    intake.check_files(uploads, current_app.config["UPLOAD_MAX_BYTES"], problems)
    if not valid or problems.errors:
        web.show_errors(form, problems.errors, fallback="title")
        return _presale_page(prospect, form, status=422)
    new = workflow.NewRequest(
        "pre_sale",
        form.subtype.data or "",
        form.title.data,
        form.description.data,
        form.priority.data or "normal",
        details=details,
    )
    try:
        filed = intake.file_presale_request(
            prospect,
            current_user,
            new,
            uploads,
            today=today,
            files=file_store(),
            max_bytes=current_app.config["UPLOAD_MAX_BYTES"],
            idempotency_key=form.idempotency_key.data,
        )
    except AlreadySubmitted as sent:  # the same form again: lead to the request it filed
        return redirect(url_for("internal.workspace", request_id=sent.object_id), code=303)
    except InvalidInput as error:
        web.show_errors(form, error.errors, fallback="title")
        return _presale_page(prospect, form, status=422)
    department = filed.department.display_name(str(get_locale())) if filed.department else ""
    flash(_("Request %(ref)s is with %(department)s.", ref=filed.reference, department=department), "info")
    return redirect(url_for("internal.workspace", request_id=filed.id), code=303)
