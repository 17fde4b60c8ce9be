"""The web side of permissions: role checks for views, and the lookups every view with an id in its URL goes
through, so that none can forget to ask ``portal.permissions`` (a missing or foreign id answers 404)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, current_app, g, redirect, request, session, url_for
from flask_login import current_user

from portal import permissions
from portal.extensions import db, htmx, login_manager
from portal.models import (
    Account,
    Attachment,
    Contract,
    Deliverable,
    FollowUpTask,
    Proposal,
    Prospect,
    ServiceRequest,
    User,
)
from portal.services import audit
from portal.services.identity import auth
from portal.services.requests import attachments
from portal.web import login_url_for

F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M")

HOME_ENDPOINTS = {
    "customer_admin": "customer.home",
    "customer": "customer.home",
    "agent": "internal.home",
    "lead": "internal.home",
    "finance": "finance.home",
    "manager": "manager.home",
    "admin": "admin.home",
}


def home_url(user: User) -> str:
    return url_for(HOME_ENDPOINTS[user.role])


def signed_in() -> auth.SignedIn | None:
    """Who this request's session cookie names, as plain values (read once a request, no ORM object): what
    the page cache needs to find a page kept for them before anyone asks for ``current_user``."""
    if "signed_in" not in g:
        g.signed_in = auth.read_signed_in(session.get("sid"), session.get("_user_id"))
    return g.signed_in  # type: ignore[no-any-return]


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    if "signed_in" in g:  # the session is already checked in this request: only the ORM user is missing
        return auth.user_of(g.signed_in) if g.signed_in is not None else None
    return auth.load_signed_in_user(session.get("sid"), user_id)


@login_manager.unauthorized_handler
def _unauthorized() -> Any:
    target = login_url_for(request.full_path if request.method == "GET" and not htmx else None)
    if htmx:
        # A redirect inside an htmx swap would paint the login page into a fragment: send the browser there.
        return current_app.response_class(status=401, headers={"HX-Redirect": target})
    return redirect(target)


def roles_required(*roles: str) -> Callable[[F], F]:
    """Only signed-in users with one of these roles; others are sent to sign in or told 403."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def allowed_by(check: Callable[[User], bool]) -> Callable[[F], F]:
    """Only signed-in users the permission allows (``permissions``, the rule's one owner); others are sent
    to sign in or told 403."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not check(current_user):
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


customer_required = roles_required("customer_admin", "customer")
staff_required = roles_required("agent", "lead")
internal_viewer_required = roles_required("agent", "lead", "manager", "admin")
# Contracts are drafted by administrators, finance and account managers (agents and leads): the role lets
# them reach the pages, ``permissions.can_draft_contract`` decides for each account.
contract_drafter_required = roles_required("admin", "finance", "agent", "lead")
# Proposals are read by staff, managers, admins and finance; ``permissions`` decides who drafts.
proposal_reader_required = roles_required("agent", "lead", "manager", "admin", "finance")


def _visible_or_404(model: type[M], object_id: int, customer: bool, may_see: Callable[[User, M], bool]) -> M:
    """The object if the signed-in person is on the right side (customer or staff) and may see it, else 404
    — the same answer for missing and foreign ids, so ids cannot be probed."""
    found = db.session.get(model, object_id)
    if found is None:
        abort(404)
    if permissions.is_customer(current_user) != customer or not may_see(current_user, found):
        audit.note_refusal("security.object_refused", object_type=model.__name__, object_id=object_id)
        abort(404)
    return found


def request_for_customer(request_id: int) -> ServiceRequest:
    return _visible_or_404(ServiceRequest, request_id, True, permissions.can_view_request)


def contract_for_customer(contract_id: int) -> Contract:
    return _visible_or_404(Contract, contract_id, True, permissions.can_view_contract)


def account_for_drafter(account_id: int) -> Account:
    """An account whose contracts the signed-in person drafts (``permissions.can_draft_contract``), or 404."""
    return _visible_or_404(Account, account_id, False, permissions.can_draft_contract)


def contract_for_drafter(contract_id: int) -> Contract:
    return _visible_or_404(
        Contract,
        contract_id,
        False,
        lambda user, contract: permissions.can_draft_contract(user, contract.account),
    )


def proposal_for_staff(proposal_id: int) -> Proposal:
    return _visible_or_404(Proposal, proposal_id, False, permissions.can_view_proposal)


def proposal_for_customer(proposal_id: int) -> Proposal:
    return _visible_or_404(Proposal, proposal_id, True, permissions.can_view_proposal)


def contract_for_staff(contract_id: int) -> Contract:
    return _visible_or_404(Contract, contract_id, False, permissions.can_view_contract)


def prospect_for_viewer(prospect_id: int) -> Prospect:
    return _visible_or_404(Prospect, prospect_id, False, permissions.can_view_prospect)


def request_for_staff(request_id: int) -> ServiceRequest:
    return _visible_or_404(ServiceRequest, request_id, False, permissions.can_view_request)


def account_for_staff(account_id: int) -> Account:
    return _visible_or_404(Account, account_id, False, permissions.can_view_account)


def user_for_customer_admin(user_id: int) -> User:
    """A user of the customer administrator's own account, or 404."""
    return _visible_or_404(User, user_id, True, permissions.can_manage_user)


def follow_up_for_staff(task_id: int) -> FollowUpTask:
    return _visible_or_404(FollowUpTask, task_id, False, permissions.can_view_follow_up)


def deliverable_for_customer(deliverable_id: int) -> Deliverable:
    """A report delivered on a request the customer may see, or 404."""
    return _visible_or_404(
        Deliverable, deliverable_id, True, lambda user, d: permissions.can_view_request(user, d.request)
    )


def attachment_for_viewer(attachment_id: int) -> Attachment:
    """A request's file the signed-in person may download (permissions.can_download_attachment), or 404."""
    attachment = db.session.get(Attachment, attachment_id)
    parent = (
        db.session.get(ServiceRequest, attachment.request_id)
        if attachment and attachment.request_id
        else None
    )
    if attachment is None or parent is None:
        abort(404)
    if not permissions.can_download_attachment(
        current_user, attachment, parent, attachments.is_internal(attachment)
    ):
        audit.note_refusal("security.object_refused", object_type="Attachment", object_id=attachment_id)
        abort(404)
    return attachment
