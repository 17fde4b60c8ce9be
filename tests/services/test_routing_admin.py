"""Editing the rule list: preview before saving, order, deactivation, validation, audit."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent, RoutingRule
from portal.services.errors import InvalidInput
from portal.services.reference_data import ensure_reference_data
from portal.services.requests import routing
from tests.factories import department, make_user

FACTS = {
    "category": "after_sale",
    "subtype": "troubleshooting",
    "tier": "strategic",
    "industry": "finance",
    "priority": "urgent",
}


@pytest.fixture(autouse=True)
def _reference_data():
    ensure_reference_data()


def test_preview_shows_where_a_request_would_go_before_saving():
    admin = make_user("admin")
    count = len(routing.all_rules())
    assert routing.preview_route(FACTS).department.code == "after_sales"
    draft = routing.RuleDraft(
        name="Urgent strategic faults to tech support",
        department_id=department("tech_support").id,
        tier="strategic",
        priority="urgent",
    )
    # Appended at the end the draft changes nothing: the default after-sales rule matches first.
    assert routing.preview_route(FACTS, draft).department_id == department("after_sales").id
    db.session.commit()
    assert len(routing.all_rules()) == count  # a preview writes nothing
    # Replacing the first rule's place... only a rule placed before the default one wins.
    rule = routing.create_rule(draft, admin)
    while routing.all_rules()[0].id != rule.id:
        routing.move_rule(rule, -1, admin)
    assert routing.preview_route(FACTS).id == rule.id
    # A draft edit of that rule is previewed in place, without being saved.
    narrower = routing.RuleDraft(
        name=rule.name, department_id=rule.department_id, tier="key", priority="urgent"
    )
    assert routing.preview_route(FACTS, narrower, replacing=rule.id).department.code == "after_sales"
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(RoutingRule, rule.id).tier == "strategic"
    assert len(routing.all_rules()) == len(set(r.position for r in routing.all_rules()))  # nothing was added


def test_moving_deactivating_and_auditing():
    admin = make_user("admin")
    first, second = routing.all_rules()[:2]
    routing.move_rule(second, -1, admin)
    assert [r.id for r in routing.all_rules()[:2]] == [second.id, first.id]
    routing.move_rule(second, -1, admin)  # already at the top: nothing happens
    assert routing.all_rules()[0].id == second.id
    routing.set_rule_active(second, False, admin)
    facts = {
        "category": second.category,
        "subtype": second.subtype,
        "tier": "key",
        "industry": "energy",
        "priority": "normal",
    }
    assert routing.preview_route(facts) is None or routing.preview_route(facts).id != second.id
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["routing_rule.moved", "routing_rule.deactivated"]


def test_invalid_rules_are_refused():
    admin = make_user("admin")
    count = len(routing.all_rules())
    with pytest.raises(InvalidInput):
        routing.create_rule(routing.RuleDraft(name=" ", department_id=department("sales").id), admin)
    with pytest.raises(InvalidInput):
        routing.create_rule(
            routing.RuleDraft(
                name="x", department_id=department("sales").id, category="pre_sale", subtype="warranty"
            ),
            admin,
        )
    with pytest.raises(InvalidInput):
        routing.create_rule(routing.RuleDraft(name="x", department_id=99999), admin)
    db.session.rollback()
    assert len(routing.all_rules()) == count


def test_an_edit_is_audited_with_before_and_after():
    admin = make_user("admin")
    rule = routing.all_rules()[0]
    draft = routing.RuleDraft(
        name="Renamed", department_id=rule.department_id, category=rule.category, subtype=rule.subtype
    )
    routing.update_rule(rule, draft, admin)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "routing_rule.updated"))
    assert event.detail["after"]["name"] == "Renamed" and event.detail["before"]["name"] != "Renamed"
