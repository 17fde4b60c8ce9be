"""The routing rule engine: the first active rule, in position order, whose criteria all match wins."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Department, MailIntake, RoutingRule, ServiceRequest, User
from portal.models.requests import PRIORITIES, SUBTYPES
from portal.services import audit
from portal.services.errors import DomainError, InvalidInput, Problems
from portal.services.unit_of_work import use_case

CRITERIA = ("category", "subtype", "tier", "industry", "priority")


def _facts(request: ServiceRequest) -> dict[str, str]:
    return {
        "category": request.category,
        "subtype": request.subtype,
        "tier": request.tier,
        "industry": request.industry,
        "priority": request.priority,
    }


def rule_matches(rule: RoutingRule, facts: dict[str, str]) -> bool:
    return all(getattr(rule, c) in (None, "", facts.get(c)) for c in CRITERIA)


def first_matching_rule(rules: Iterable[RoutingRule], facts: dict[str, str]) -> RoutingRule | None:
    return next((r for r in rules if r.active and rule_matches(r, facts)), None)


def active_rules() -> list[RoutingRule]:
    return list(
        db.session.scalars(select(RoutingRule).where(RoutingRule.active).order_by(RoutingRule.position))
    )


def route_request(request: ServiceRequest, rules: Iterable[RoutingRule] | None = None) -> RoutingRule:
    """Send the request to the department of the first matching rule (and its default assignee)."""
    rule = first_matching_rule(active_rules() if rules is None else rules, _facts(request))
    if rule is None:
        raise DomainError("no routing rule matches this request")
    request.department_id = rule.department_id
    request.routing_rule_id = rule.id
    if rule.default_assignee_id and request.assignee_id is None:
        request.assignee_id = rule.default_assignee_id
    return rule


# --- the admin's rule list -------------------------------------------------------------------------------


@dataclass
class RuleDraft:
    """A rule as an admin types it, before it is saved."""

    name: str
    department_id: int
    category: str | None = None
    subtype: str | None = None
    tier: str | None = None
    industry: str | None = None
    priority: str | None = None
    default_assignee_id: int | None = None
    active: bool = True

    def apply_to(self, rule: RoutingRule) -> None:
        for name, value in self.__dict__.items():
            setattr(rule, name, value if value != "" else None)


def all_rules() -> list[RoutingRule]:
    return list(db.session.scalars(select(RoutingRule).order_by(RoutingRule.position)))


def preview_route(
    facts: dict[str, str],
    draft: RuleDraft | None = None,
    replacing: int | None = None,
) -> RoutingRule | None:
    """Which rule a request with these facts would hit if the draft were saved (in place of rule
    ``replacing``, or appended at the end). Nothing is written."""

    def candidate(rule_id: int | None, position: int) -> RoutingRule:
        assert draft is not None
        unsaved = RoutingRule(id=rule_id, position=position)  # never added to the session
        draft.apply_to(unsaved)
        department = db.session.get(Department, draft.department_id)
        if department is not None:
            unsaved.department = department
        return unsaved

    rules = [candidate(r.id, r.position) if r.id == replacing and draft else r for r in all_rules()]
    if draft is not None and replacing is None:
        rules.append(candidate(None, (rules[-1].position + 10) if rules else 0))
    return first_matching_rule(rules, facts)


def _validate(draft: RuleDraft) -> None:
    if not draft.name.strip():
        raise InvalidInput("name", str(_l("Give the rule a name.")))
    if draft.subtype and draft.category and draft.subtype not in SUBTYPES.get(draft.category, ()):
        raise InvalidInput("subtype", str(_l("This service does not belong to the chosen category.")))
    if db.session.get(Department, draft.department_id) is None:
        raise InvalidInput("department_id", str(_l("Choose a department.")))


@use_case
def create_rule(draft: RuleDraft, actor: User) -> RoutingRule:
    _validate(draft)
    last = db.session.scalar(select(func.max(RoutingRule.position)))
    rule = RoutingRule(position=(last + 10) if last is not None else 0)
    draft.apply_to(rule)
    db.session.add(rule)
    db.session.flush()
    audit.record("routing_rule.created", actor=actor, obj=rule, rule=_describe(rule))
    return rule


@use_case
def update_rule(rule: RoutingRule, draft: RuleDraft, actor: User) -> RoutingRule:
    _validate(draft)
    before = _describe(rule)
    draft.apply_to(rule)
    audit.record("routing_rule.updated", actor=actor, obj=rule, before=before, after=_describe(rule))
    return rule


@use_case
def move_rule(rule: RoutingRule, direction: int, actor: User) -> None:
    """Swap the rule with its neighbour above (-1) or below (+1)."""
    rules = all_rules()
    index = next(i for i, r in enumerate(rules) if r.id == rule.id)
    other_index = index + (1 if direction > 0 else -1)
    if not 0 <= other_index < len(rules):
        return
    other = rules[other_index]
    mine, theirs = rule.position, other.position
    rule.position = rules[-1].position + 1  # out of the way of the unique constraint for a moment
    db.session.flush()
    other.position = mine
    db.session.flush()
    rule.position = theirs
    audit.record("routing_rule.moved", actor=actor, obj=rule, position=theirs, swapped_with=other.id)


@use_case
def set_rule_active(rule: RoutingRule, active: bool, actor: User) -> None:
    rule.active = active
    audit.record("routing_rule.activated" if active else "routing_rule.deactivated", actor=actor, obj=rule)


def _describe(rule: RoutingRule) -> dict[str, object]:
    return {
        c: getattr(rule, c) for c in (*CRITERIA, "name", "department_id", "default_assignee_id", "active")
    }


@use_case
def set_auto_assign(department: Department, enabled: bool, actor: User) -> None:
    """Whether new requests of the department go straight to its least-loaded agent."""
    department.auto_assign = enabled
    audit.record("department.auto_assign", actor=actor, obj=department, enabled=enabled)


# --- requests by email --------------------------------------------------------------------------------------


def mail_intake() -> MailIntake:
    """How a known contact's new mail to the service address is filed (before the rules above route it):
    the administrator's settings, or the defaults until they save their own."""
    return db.session.get(MailIntake, 1) or MailIntake(
        id=1, accepts_new_requests=True, category="after_sale", subtype="technical_support", priority="normal"
    )


@use_case
def update_mail_intake(accepts: bool, category: str, subtype: str, priority: str, actor: User) -> MailIntake:
    """Whether new mail becomes a request, and which service and priority it gets — all problems at once."""
    problems = Problems()
    if subtype not in SUBTYPES.get(category, ()):
        problems.add("service", _l("Choose one of the services."))
    if priority not in PRIORITIES:
        problems.add("priority", _l("Choose a priority."))
    problems.raise_any()
    intake = db.session.get(MailIntake, 1)
    if intake is None:
        intake = mail_intake()
        db.session.add(intake)
    intake.accepts_new_requests, intake.category, intake.subtype, intake.priority = (
        accepts,
        category,
        subtype,
        priority,
    )
    audit.record(
        "mail_intake.updated",
        actor=actor,
        obj=intake,
        accepts_new_requests=accepts,
        category=category,
        subtype=subtype,
        priority=priority,
    )
    return intake
