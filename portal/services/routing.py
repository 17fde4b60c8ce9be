"""The routing rule engine: the first active rule, in position order, whose criteria all match wins."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from portal.extensions import db
from portal.models import RoutingRule, ServiceRequest
from portal.services.errors import DomainError

CRITERIA = ("category", "subtype", "tier", "industry", "priority")


def _facts(request: ServiceRequest) -> dict[str, str]:
    return {
        "category": request.category,
        "subtype": request.subtype,
        "tier": request.account.tier,
        "industry": request.account.industry,
        "priority": request.priority,
    }


def rule_matches(rule: RoutingRule, facts: dict[str, str]) -> bool:
    return all(getattr(rule, c) in (None, "", facts[c]) for c in CRITERIA)


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
