"""Answering a survey from the link in its email: no sign-in needed, and the link opens only that survey."""

from __future__ import annotations

from flask import Blueprint, request
from flask_login import current_user
from werkzeug.wrappers import Response

from portal import web
from portal.rendering import render
from portal.services.engagement import surveys
from portal.services.errors import InvalidInput

bp = Blueprint("survey", __name__, url_prefix="/survey")


@bp.get("/<token>")
def answer_by_link(token: str) -> Response:
    try:
        invitation = surveys.invitation_by_token(token, current_user)
    except InvalidInput as error:
        return render("survey/closed.html", message=str(error), status=410)
    return render("survey/answer.html", invitation=invitation, action=request.path)


@bp.post("/<token>")
def submit_by_link(token: str) -> Response:
    try:
        invitation = surveys.invitation_by_token(token, current_user)
    except InvalidInput as error:
        return render("survey/closed.html", message=str(error), status=410)
    return web.answer_survey(invitation, request.path)
