"""What the request workspace shows: the request, its account and contract, SLA clocks, the whole timeline,
and the forms for what this person may do now."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal import permissions
from portal.extensions import db
from portal.i18n import current_language
from portal.internal import forms
from portal.models import Contract, Department, ServiceRequest, TimelineEvent, User
from portal.models.accounts import STAFF_ROLES
from portal.models.base import utcnow
from portal.services.contracts import entitlements
from portal.services.engagement import reports, surveys
from portal.services.requests import lifecycle, sla
from portal.timeutil import today_for


def workspace_context(service_request: ServiceRequest, user: User, submitted: Any = None) -> dict[str, Any]:
    """The template context; ``submitted`` is a form that failed validation, shown with its errors."""
    now = utcnow()
    calendar = sla.load_calendar()
    events = db.session.scalars(
        select(TimelineEvent)
        .where(TimelineEvent.request_id == service_request.id)
        .options(selectinload(TimelineEvent.actor))
        .order_by(TimelineEvent.id)
    ).all()
    contract = None
    if service_request.contract_id:
        contract = db.session.scalar(
            select(Contract)
            .where(Contract.id == service_request.contract_id)
            .options(selectinload(Contract.entitlements))
        )
    version = str(service_request.version)
    department_members = list(
        db.session.scalars(
            select(User)
            .where(
                User.active,
                User.role.in_(STAFF_ROLES),
                User.departments.any(Department.id == service_request.department_id),
            )
            .order_by(User.full_name)
        )
    )
    built: dict[str, Any] = {
        "ReplyForm": forms.ReplyForm(version=version, formdata=None),
        "AssignForm": forms.AssignForm(version=version, assignee=service_request.assignee_id, formdata=None),
        "RerouteForm": forms.RerouteForm(version=version, formdata=None),
        "VisitForm": forms.VisitForm(version=version, formdata=None),
        "TimeForm": forms.TimeForm(work_date=today_for(user), formdata=None),
        "AttachForm": forms.AttachForm(formdata=None),
        "PublishReportForm": forms.PublishReportForm(formdata=None),
    }
    if submitted is not None:
        if hasattr(submitted, "version"):
            submitted.version.data = version
        built[type(submitted).__name__] = submitted
    members = [(str(u.id), u.full_name) for u in department_members]
    assignee = service_request.assignee
    # Whoever is assigned is shown as assigned, even from outside the department (after a reroute).
    extra = (
        [(str(assignee.id), assignee.full_name)] if assignee and assignee not in department_members else []
    )
    built["AssignForm"].assignee.choices = forms.options(extra + members, _("Nobody"))
    other_departments = [
        (str(d.id), d.display_name(current_language()))
        for d in db.session.scalars(select(Department).order_by(Department.id))
        if d.id != service_request.department_id
    ]
    built["RerouteForm"].department.choices = forms.options(other_departments, _("Choose…"))
    built["VisitForm"].engineer.choices = forms.options(members)
    return {
        "service_request": service_request,
        "account": service_request.account,
        "contract": contract,
        "ledger_lines": entitlements.contract_ledger(contract, today_for(user)) if contract else [],
        "events": events,
        "first_response": sla.first_response_clock(service_request, calendar, now),
        "resolution": sla.resolution_clock(service_request, calendar, now),
        "actions": lifecycle.available_actions(service_request, user),
        "transitions": lifecycle.TRANSITIONS,
        "can_work": permissions.can_work_request(user, service_request),
        "is_lead": permissions.can_assign_others(user, service_request),
        "forms": built,
        "version": version,
        "deliverables": reports.deliverables_of(service_request)
        if service_request.category == "value_added"
        else [],
        "survey": surveys.results(request_id=service_request.id),
    }
