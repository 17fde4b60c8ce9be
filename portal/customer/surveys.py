"""Surveys waiting for the signed-in customer, answered here or from the emailed link."""

from __future__ import annotations

from flask import abort, url_for
from flask_login import current_user

from portal import web
from portal.access import customer_required
from portal.customer import bp
from portal.rendering import render
from portal.services.engagement import surveys
from portal.services.errors import InvalidInput


def _own_open_invitation(invitation_id: int):  # noqa: ANN202
    invitation = surveys.invitation_of_user(current_user, invitation_id)
    if invitation is None:
        abort(404)
    return invitation


@bp.get("/surveys/<int:invitation_id>")
@customer_required
def answer_survey(invitation_id: int):
    invitation = _own_open_invitation(invitation_id)
    try:
        surveys.check_open(invitation)
    except InvalidInput as error:
        return render("survey/closed.html", message=str(error), status=410)
    return render(
        "survey/answer.html",
        invitation=invitation,
        action=url_for("customer.submit_survey", invitation_id=invitation.id),
    )


@bp.post("/surveys/<int:invitation_id>")
@customer_required
def submit_survey(invitation_id: int):
    invitation = _own_open_invitation(invitation_id)
    return web.answer_survey(invitation, url_for("customer.submit_survey", invitation_id=invitation.id))
