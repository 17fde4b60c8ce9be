"""The audit log for admins: filtered by person, action, object and days, paged, action names in words in
both languages, as CSV; and every action the code records has a name (no raw code shown to a person)."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

from portal.extensions import db
from portal.labels import LABELS
from portal.models import AuditEvent
from portal.models.base import utcnow
from portal.services import audit
from tests.factories import make_user

ROOT = Path(__file__).resolve().parents[2] / "portal"


def _recorded_actions() -> set[str]:
    """Every action code the portal writes, read off its source."""
    found: set[str] = set()
    pattern = re.compile(r'"((?:[a-z_]+)\.(?:[a-z_]+))"')
    for path in ROOT.rglob("*.py"):
        text = path.read_text()
        for match in re.finditer(
            r"(?:audit\.(?:record|log|note_refusal)|_send_audited|REFUSALS\s*=)\(?([^)]*)", text
        ):
            found.update(pattern.findall(match.group(1)[:400]))
    return found


def test_every_recorded_action_has_a_name(app):
    endpoints = set(app.view_functions)
    actions = {a for a in _recorded_actions() if a not in endpoints and not a.endswith(".id")}
    assert len(actions) > 30
    assert actions - set(LABELS["audit_action"]) == set()


def test_the_log_filters_pages_and_names_actions(client, login_as):
    login_as("admin")
    someone = make_user("agent", departments=["sales"], full_name="Zhou Min", email="zhou@portal.example")
    now = utcnow()
    db.session.add(
        AuditEvent(
            action="security.object_refused",
            actor_id=someone.id,
            detail={"route": "/staff/requests/9", "object_type": "ServiceRequest", "object_id": 9},
            created_at=now - timedelta(days=3),
        )
    )
    for n in range(60):
        db.session.add(
            AuditEvent(
                action="auth.sign_in",
                actor_id=someone.id,
                actor_email=someone.email,
                created_at=now - timedelta(minutes=60 - n),
            )
        )
    db.session.commit()
    page = client.get("/admin/audit?person=zhou", headers={"Accept-Language": "en"}).get_data(as_text=True)
    table = page.split('<div id="audit-results">')[1]
    assert table.count("Signed in") == 50 and "auth.sign_in" not in table
    assert "Next page" in page
    next_url = re.search(r'href="(/admin/audit\?[^"]*before=\d+[^"]*)"', page).group(1).replace("&amp;", "&")
    rest = client.get(next_url, headers={"Accept-Language": "en"}).get_data(as_text=True)
    rest = rest.split('<div id="audit-results">')[1]
    assert (
        rest.count("Signed in") == 10 and "Refused: another account" in rest and "/staff/requests/9" in rest
    )
    refused = client.get("/admin/audit?action=security.", headers={"Accept-Language": "en"})
    refused = refused.get_data(as_text=True).split('<div id="audit-results">')[1]
    assert "Refused: another account&#39;s object" in refused and "Signed in" not in refused
    chinese = client.get("/admin/audit?action=auth.sign_in").get_data(as_text=True)
    assert "已登录" in chinese.split('<div id="audit-results">')[1]
    day = (now - timedelta(days=3)).date().isoformat()
    only_that_day = client.get(f"/admin/audit?since={day}&until={day}", headers={"Accept-Language": "en"})
    assert "Refused: another account" in only_that_day.get_data(as_text=True)
    assert "Signed in" not in only_that_day.get_data(as_text=True).split('<div id="audit-results">')[1]
    backwards = client.get(f"/admin/audit?since={day}&until=2000-01-01", headers={"Accept-Language": "en"})
    assert backwards.status_code == 200 and "The period ends before it starts." in backwards.get_data(
        as_text=True
    )
    fragment = client.htmx_get("/admin/audit?person=zhou").get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="audit-results">')


def test_the_log_as_csv(client, login_as):
    login_as("admin")
    db.session.add(
        AuditEvent(action="auth.sign_in_failed", actor_email="=cmd|' /C calc'!A0", ip_address="10.0.0.1")
    )
    db.session.commit()
    response = client.get("/admin/audit.csv?action=auth.sign_in_failed", headers={"Accept-Language": "en"})
    assert response.headers["Content-Disposition"].startswith("attachment")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert [(r["action"], r["action_name"], r["person"], r["address"]) for r in rows] == [
        ("auth.sign_in_failed", "Sign-in failed", "'=cmd|' /C calc'!A0", "10.0.0.1")
    ]
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "audit.exported"))


def test_only_admins_read_the_log(client, login_as):
    login_as("manager")
    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/audit.csv").status_code == 403
    assert audit.PAGE_SIZE == 50
