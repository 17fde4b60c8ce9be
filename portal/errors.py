"""Error pages in both languages; htmx requests get a fragment swapped into the page's message area.

Refusals are security events: a 403, a CSRF failure, an over-size upload and a rate-limit hit are noted
here, a foreign object's 404 and a refused file where they happen (``audit.note_refusal``); all are written
to the audit log when the request ends, in a transaction of their own, with person, account, address and
route."""

from __future__ import annotations

from flask import Flask, current_app, render_template, request
from flask.wrappers import Response
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from portal import logs
from portal.extensions import db, htmx
from portal.services import audit
from portal.services.storage import FileUnreadable

MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. Please go back and try again.")),
    403: (_l("Not allowed"), _l("Your role does not give you access to this page.")),
    404: (_l("Not found"), _l("There is nothing here, or it is not yours to see.")),
    405: (_l("Not allowed"), _l("This address does not accept that kind of request.")),
    413: (_l("Too large"), _l("The upload is larger than the portal accepts.")),
    429: (
        _l("Too many attempts"),
        _l("Too many requests in a short time. Please wait a minute and try again."),
    ),
    500: (_l("Something went wrong"), _l("The portal hit an error. Nothing was saved; please try again.")),
}
FILE_MESSAGE = _l(
    "This file cannot be read just now. The portal's operators have been told; quote the reference below."
)
CSRF_MESSAGE = _l("Your form expired or did not come from this site. Reload the page and try again.")


def render_error(code: int, detail: str | None = None) -> tuple[str, int, dict[str, str]]:
    title, message = MESSAGES.get(code, MESSAGES[500])
    context = {"code": code, "title": title, "message": detail or message, "request_id": logs.request_id()}
    if htmx:
        headers = {"HX-Retarget": "#messages", "HX-Reswap": "innerHTML", "Vary": "HX-Request"}
        return render_template("errors/_message.html", **context), code, headers
    return render_template("errors/error.html", **context), code, {"Vary": "HX-Request"}


REFUSALS = {403: "security.forbidden", 413: "security.upload_refused", 429: "security.rate_limited"}


def record_refusals(response: Response) -> Response:
    """Write the request's security events, whatever became of its own transaction."""
    events = audit.take_refusals()
    if not events:
        return response
    user = current_user if current_user and current_user.is_authenticated else None
    where = {"route": request.path[:200], "method": request.method, "endpoint": request.endpoint or ""}
    try:
        db.session.rollback()  # nothing the request left unfinished rides along
        for action, detail in events:
            audit.log(
                action,
                actor=user,
                ip_address=request.remote_addr or "",
                account_id=user.account_id if user else None,
                **where,
                **detail,
            )
    except Exception:  # noqa: BLE001 - the answer stands even if the log cannot be written
        current_app.logger.exception("could not record %s", [action for action, _ in events])
    return response


def init_app(app: Flask) -> None:
    app.after_request(record_refusals)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[str, int, dict[str, str]]:
        audit.note_refusal("security.csrf_failed", reason=str(error.description)[:200])
        return render_error(400, str(CSRF_MESSAGE))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> HTTPException | tuple[str, int, dict[str, str]]:
        if error.code is None or error.code < 400 or error.code in (401,):
            return error
        if error.code in REFUSALS:
            extra = {"reason": "too_large"} if error.code == 413 else {}
            audit.note_refusal(REFUSALS[error.code], **extra)
        body, code, headers = render_error(error.code if error.code in MESSAGES else 400)
        if error.code == 429:  # when to try again (rate_limits)
            headers.update((k, v) for k, v in error.get_headers() if k == "Retry-After")
        return body, code, headers

    @app.errorhandler(FileUnreadable)
    def file_unreadable(error: FileUnreadable) -> tuple[str, int, dict[str, str]]:
        # Before anything was sent (web.send_stored reads the first chunk first): a page, not a cut download.
        current_app.logger.error("stored file unreadable: %s", error)
        return render_error(500, str(FILE_MESSAGE))

    @app.errorhandler(InternalServerError)
    def server_error(error: InternalServerError) -> tuple[str, int, dict[str, str]]:
        # Flask has logged the trace already (once); the transaction the error interrupted is undone.
        db.session.rollback()
        return render_error(500)
