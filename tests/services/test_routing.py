"""The policy's default split, seeded as rules: first match wins."""

from __future__ import annotations

import pytest

from portal.extensions import db
from portal.models import RoutingRule, ServiceRequest
from portal.services.reference_data import ensure_reference_data
from portal.services.requests.routing import route_request
from tests.factories import department, make_account, make_user

POLICY_SPLIT = [
    ("pre_sale", "consultation", "sales"),
    ("pre_sale", "quotation", "sales"),
    ("pre_sale", "solution_design", "tech_support"),
    ("pre_sale", "technical_support", "tech_support"),
    ("on_site", "delivery", "delivery"),
    ("on_site", "installation", "delivery"),
    ("on_site", "commissioning", "delivery"),
    ("on_site", "training", "delivery"),
    ("after_sale", "troubleshooting", "after_sales"),
    ("after_sale", "warranty", "after_sales"),
    ("after_sale", "technical_support", "tech_support"),
    ("value_added", "industry_news", "marketing"),
    ("value_added", "market_analysis", "marketing"),
    ("value_added", "custom_report", "marketing"),
    ("value_added", "custom_service", "sales"),
]


@pytest.mark.parametrize("category, subtype, expected", POLICY_SPLIT)
def test_default_rules_follow_the_policy(category, subtype, expected):
    ensure_reference_data()
    account = make_account()
    request = ServiceRequest(category=category, subtype=subtype, priority="normal", account=account)
    route_request(request)
    assert request.department_id == department(expected).id


def test_an_earlier_rule_wins_and_brings_its_default_assignee():
    ensure_reference_data()
    agent = make_user("agent", departments=["after_sales"])
    account = make_account(tier="strategic")
    # Position 0 is taken by the first default rule; move it down and put a narrower rule first.
    first = db.session.query(RoutingRule).filter_by(position=0).one()
    first.position = 5
    db.session.add(
        RoutingRule(
            position=0,
            name="urgent strategic",
            tier="strategic",
            priority="urgent",
            department=department("after_sales"),
            default_assignee=agent,
        )
    )
    db.session.commit()
    urgent = ServiceRequest(category="pre_sale", subtype="consultation", priority="urgent", account=account)
    rule = route_request(urgent)
    assert rule.name == "urgent strategic"
    assert (urgent.department_id, urgent.assignee_id) == (department("after_sales").id, agent.id)
    normal = ServiceRequest(category="pre_sale", subtype="consultation", priority="normal", account=account)
    route_request(normal)
    assert normal.department_id == department("sales").id
