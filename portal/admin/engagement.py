"""Administration of what keeps the relationship going: survey templates and their questions in both
languages, and the return-visit cadence per tier."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from portal import web
from portal.admin import forms
from portal.admin.views import admin_required, bp
from portal.extensions import db
from portal.models import SurveyTemplate
from portal.rendering import render
from portal.services.engagement import relationship, surveys
from portal.services.errors import InvalidInput


def _overview(new_form: Any = None, cadence_form: Any = None, status: int = 200) -> Response:
    return render(
        "admin/surveys.html",
        templates=surveys.templates(),
        new_form=new_form or forms.NewTemplateForm(formdata=None),
        cadence_form=cadence_form or forms.CadenceForm(formdata=None, **relationship.cadences()),
        status=status,
    )


@bp.get("/surveys")
@admin_required
def survey_templates():
    return _overview()


@bp.post("/surveys")
@admin_required
def create_survey_template():
    form = forms.NewTemplateForm()
    if not form.validate_on_submit():
        return _overview(new_form=form, status=422)
    try:
        template = surveys.create_template(
            current_user,
            kind=form.kind.data or "",
            code=form.code.data or "",
            name_zh=form.name_zh.data or "",
            name_en=form.name_en.data or "",
        )
    except InvalidInput as error:
        web.show_errors(form, error.errors, fallback="code")
        return _overview(new_form=form, status=422)
    return redirect(url_for("admin.survey_template", template_id=template.id), code=303)


@bp.post("/cadence")
@admin_required
def save_cadence():
    form = forms.CadenceForm()
    if not form.validate_on_submit():
        return _overview(cadence_form=form, status=422)
    relationship.set_cadences(
        current_user, {"strategic": form.strategic.data, "key": form.key.data, "ordinary": form.ordinary.data}
    )
    flash(_("The return-visit cadence is saved."), "info")
    return redirect(url_for("admin.survey_templates"), code=303)


def _template_or_404(template_id: int) -> SurveyTemplate:
    template = db.session.get(SurveyTemplate, template_id)
    if template is None:
        abort(404)
    return template


def _template_page(
    template: SurveyTemplate, *, question_form: Any = None, errors: Any = None, status: int = 200
):
    return render(
        "admin/survey_template.html",
        survey=template,
        question_form=question_form or forms.QuestionForm(formdata=None),
        errors=errors or {},
        submitted=request.form if status != 200 else None,
        status=status,
    )


@bp.get("/surveys/<int:template_id>")
@admin_required
def survey_template(template_id: int):
    return _template_page(_template_or_404(template_id))


@bp.post("/surveys/<int:template_id>")
@admin_required
def save_survey_template(template_id: int):
    template = _template_or_404(template_id)
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    questions = {
        q.id: (
            request.form.get(f"q{q.id}_zh", ""),
            request.form.get(f"q{q.id}_en", ""),
            request.form.get(f"q{q.id}_required") == "y",
        )
        for q in template.questions
        if f"q{q.id}_zh" in request.form or f"q{q.id}_en" in request.form
    }
    try:
        surveys.update_template(
            template,
            current_user,
            name_zh=request.form.get("name_zh", ""),
            name_en=request.form.get("name_en", ""),
            active=request.form.get("active") == "y",
            questions=questions,
        )
    except InvalidInput as error:
        return _template_page(_template_or_404(template_id), errors={error.field: str(error)}, status=422)
    flash(_("The survey is saved."), "info")
    return redirect(url_for("admin.survey_template", template_id=template_id), code=303)


@bp.post("/surveys/<int:template_id>/questions")
@admin_required
def add_survey_question(template_id: int):
    template = _template_or_404(template_id)
    form = forms.QuestionForm()
    if not form.validate_on_submit():
        return _template_page(template, question_form=form, status=422)
    try:
        surveys.add_question(
            template,
            current_user,
            kind=form.kind.data or "",
            code=form.code.data or "",
            text_zh=form.text_zh.data or "",
            text_en=form.text_en.data or "",
            required=bool(form.required.data),
        )
    except InvalidInput as error:
        web.show_errors(form, error.errors, fallback="code")
        return _template_page(_template_or_404(template_id), question_form=form, status=422)
    return redirect(url_for("admin.survey_template", template_id=template_id), code=303)
