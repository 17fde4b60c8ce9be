"""Page conventions: page-or-fragment rendering, times in the user's zone, SQLite connection settings."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from portal.extensions import db
from portal.rendering import render
from tests.factories import make_request, make_user


def test_render_gives_htmx_the_block_and_everyone_else_the_page(app):
    user = make_user("customer")
    from portal.services.overview import customer_home

    home = customer_home(user, datetime.now(UTC).date())
    with app.test_request_context("/my/", headers={"HX-Request": "true"}):
        fragment = render("customer/home.html", block="content", home=home).get_data(as_text=True)
    with app.test_request_context("/my/", headers={"HX-Request": "true", "HX-Boosted": "true"}):
        boosted = render("customer/home.html", block="content", home=home).get_data(as_text=True)
    with app.test_request_context("/my/"):
        page = render("customer/home.html", block="content", home=home)
    assert "<html" not in fragment and user.account.name in fragment
    assert "<html" in boosted
    assert "<html" in page.get_data(as_text=True) and "HX-Request" in page.headers["Vary"]


@pytest.mark.parametrize("zone, shown", [("Asia/Shanghai", "09:30"), ("Europe/London", "01:30")])
def test_times_are_shown_in_the_users_time_zone(client, login_as, zone, shown):
    me = make_user("customer", timezone=zone)
    request = make_request(me, created_at=datetime(2026, 3, 2, 1, 30, tzinfo=UTC))
    login_as(me)
    page = client.get(f"/my/requests/{request.id}").get_data(as_text=True)
    assert shown in page and 'datetime="2026-03-02T01:30Z"' in page


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite connection settings")
    with db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 15000


def test_every_title_block_is_plain_text():
    """A page's <title> holds text only (a misplaced section once ended up inside one)."""
    import re
    from pathlib import Path

    for template in Path("portal/templates").rglob("*.html"):
        for title in re.findall(r"{% block title %}(.*?){% endblock %}", template.read_text(), re.S):
            assert "<" not in title and len(title) < 200, template


@pytest.mark.parametrize(
    "raw, wanted",
    [
        ("12", 12),
        (12, 12),
        ("", None),
        (None, None),
        ("0", None),
        ("-3", None),
        ("1e3", None),
        ("x", None),
        (True, None),
    ],
)
def test_a_select_of_objects_gives_an_id_or_none(raw, wanted):
    from portal.web import optional_id

    assert optional_id(raw) == wanted
