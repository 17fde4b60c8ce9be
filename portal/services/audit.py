"""Writing the audit log. ``record`` joins the caller's transaction, so an action and its record land
together; ``log`` is the use case for an event that is all there is to write (a download, an export).

``note_refusal`` is for security events — a refused access, a refused upload — that must be kept although
the work they interrupted is undone: it is written in a transaction of its own when the request ends,
with the person, their account, the address and the route (``portal/errors.py``)."""

from __future__ import annotations

from typing import Any

from flask import g, has_request_context

from portal.extensions import db
from portal.models import AuditEvent, User
from portal.services.unit_of_work import use_case


def record(
    action: str,
    *,
    actor: User | None = None,
    actor_email: str = "",
    obj: object | None = None,
    ip_address: str = "",
    **detail: Any,
) -> AuditEvent:
    event = AuditEvent(
        action=action,
        actor_id=actor.id if actor else None,
        actor_email=actor.email if actor else actor_email,
        object_type=type(obj).__name__ if obj is not None else "",
        object_id=str(getattr(obj, "id", "")) if obj is not None else "",
        ip_address=ip_address[:64],
        detail=detail,
    )
    db.session.add(event)
    return event


@use_case
def log(action: str, **kwargs: Any) -> AuditEvent:
    return record(action, **kwargs)


def note_refusal(action: str, **detail: Any) -> None:
    """Keep a security event for the end of the request (outside a request there is nobody to refuse)."""
    if has_request_context():
        g.setdefault("security_events", []).append((action, detail))


def take_refusals() -> list[tuple[str, dict[str, Any]]]:
    return g.pop("security_events", []) if has_request_context() else []
