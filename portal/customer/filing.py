"""The service catalogue and filing a new request with its live entitlement preview."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user

from portal import web
from portal.access import customer_required
from portal.customer import bp, forms
from portal.models.contracts import ENTITLEMENT_UNITS
from portal.models.requests import SUBTYPES
from portal.rendering import render
from portal.services.errors import InvalidInput, Problems
from portal.services.requests import intake, workflow
from portal.services.submissions import AlreadySubmitted
from portal.timeutil import today_for
from portal.uploads import file_store, uploads_of


def _service_or_404(category: str, subtype: str) -> None:
    if subtype not in SUBTYPES.get(category, ()):
        abort(404)


@bp.get("/new")
@customer_required
def catalogue():
    return render("customer/catalogue.html", subtypes=SUBTYPES)


def _request_form(account_contracts: list) -> forms.NewRequestForm:
    form = forms.NewRequestForm()
    form.contract.choices = forms.options(
        [(str(c.id), f"{c.number} · {c.title}") for c in account_contracts], _("No contract")
    )
    return form


def _details(form: forms.NewRequestForm, category: str, subtype: str) -> dict[str, Any]:
    names = list(forms.CATEGORY_FIELDS[category]) + (["trainees"] if subtype == "training" else [])
    return {name: getattr(form, name).data for name in names if getattr(form, name).data not in (None, "")}


def _chosen_contract(form: forms.NewRequestForm, contracts: list) -> Any:
    chosen = form.contract.data or ""
    return next((c for c in contracts if str(c.id) == chosen), None)


@bp.get("/new/<category>/<subtype>")
@customer_required
def new_request(category: str, subtype: str):
    _service_or_404(category, subtype)
    contracts = intake.active_contracts(current_user.account, today_for(current_user))
    form = _request_form(contracts)
    if request.method == "GET" and contracts:
        form.contract.data = str(contracts[0].id)
    return render(
        "customer/new_request.html",
        form=form,
        category=category,
        subtype=subtype,
        fields=forms.CATEGORY_FIELDS[category],
        required=intake.required_fields(category, subtype),
        preview=_preview(form, contracts, category, subtype),
        unit_of=ENTITLEMENT_UNITS,
    )


def _preview(form: forms.NewRequestForm, contracts: list, category: str, subtype: str) -> intake.UsePreview:
    visit_days = form.visit_days.data if category == "on_site" else None
    return intake.preview_use(
        _chosen_contract(form, contracts), category, subtype, visit_days, today_for(current_user)
    )


@bp.get("/new/<category>/<subtype>/preview")
@customer_required
def entitlement_preview(category: str, subtype: str):
    _service_or_404(category, subtype)
    contracts = intake.active_contracts(current_user.account, today_for(current_user))
    form = forms.NewRequestForm(request.args, meta={"csrf": False})
    form.contract.choices = []
    return render(
        "customer/_preview.html",
        preview=_preview(form, contracts, category, subtype),
        unit_of=ENTITLEMENT_UNITS,
    )


@bp.post("/new/<category>/<subtype>")
@customer_required
def file_request(category: str, subtype: str):
    _service_or_404(category, subtype)
    today = today_for(current_user)
    contracts = intake.active_contracts(current_user.account, today)
    form = _request_form(contracts)

    confirmed = request.form.get("confirm_overage") == "y"
    problems = Problems()

    def again(status: int = 422):
        return render(
            "customer/new_request.html",
            form=form,
            category=category,
            subtype=subtype,
            status=status,
            confirmed=confirmed,
            confirm_error=problems.errors.get("confirm_overage"),
            fields=forms.CATEGORY_FIELDS[category],
            required=intake.required_fields(category, subtype),
            preview=_preview(form, contracts, category, subtype),
            unit_of=ENTITLEMENT_UNITS,
        )

    # Every problem at once — the form's own, the service's rules, the files — so that one correction
    # is enough (a browser cannot keep the chosen files across a refusal).
    valid = form.validate_on_submit()
    uploads = uploads_of(form.files)
    if form.contract.data and _chosen_contract(form, contracts) is None:
        problems.add("contract", _("Choose one of your account's running contracts."))
    intake.check_details(category, subtype, _details(form, category, subtype), today, problems)
    intake.check_files(uploads, current_app.config["UPLOAD_MAX_BYTES"], problems)
    # An administrator's own request beyond the contract goes ahead at once: they say so, knowing how far.
    if (
        _preview(form, contracts, category, subtype).over
        and current_user.role == "customer_admin"
        and not confirmed
    ):
        problems.add("confirm_overage", _("Confirm going over the contract, or change the request."))
    if not valid or problems.errors:
        web.show_errors(form, problems.errors, fallback="title")
        return again()
    priority = forms.SEVERITY_PRIORITY[form.severity.data] if category == "after_sale" else form.priority.data
    new = workflow.NewRequest(
        category,
        subtype,
        form.title.data,
        form.description.data,
        priority,
        _chosen_contract(form, contracts),
        details=_details(form, category, subtype),
    )
    try:
        filed = intake.file_request(
            current_user.account,
            current_user,
            new,
            uploads,
            today=today,
            files=file_store(),
            max_bytes=current_app.config["UPLOAD_MAX_BYTES"],
            idempotency_key=form.idempotency_key.data,
        )
    except AlreadySubmitted as sent:  # the same form again: lead to the request it filed
        return redirect(url_for("customer.request_detail", request_id=sent.object_id), code=303)
    except InvalidInput as error:
        web.show_errors(form, error.errors, fallback="title")
        return again()
    flash(
        _(
            "Request %(ref)s is submitted. We will answer by %(when)s.",
            ref=filed.reference,
            when=format_datetime(filed.first_response_due_at, "short"),
        ),
        "info",
    )
    return redirect(url_for("customer.request_detail", request_id=filed.id), code=303)
