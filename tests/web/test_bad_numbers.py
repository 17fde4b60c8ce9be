"""A number beyond what the database holds, anywhere a number goes, answers 404 or a field error, never 500.

Built from the app itself: every route with a number in its path (from ``url_map``), and every numeric
value a person can send — each form's numbers, selects of ids, hidden versions, and the numbers and
cursors in links — found by walking the demo company as each role, from its home page, link by link."""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from flask import current_app

from portal.demo.company import DEMO_PASSWORD
from tests.conftest import sign_in
from tests.html_forms import DEMO_ROLES, parse, walk

pytestmark = [pytest.mark.demo_data, pytest.mark.usefixtures("demo_written")]

HUGE = "99999999999999999999"

NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def test_every_number_in_a_path_beyond_the_database_answers_404(client):
    client.post("/login")  # any session; the route itself must not match
    for rule in current_app.url_map.iter_rules():
        numbers = [name for name, conv in rule._converters.items() if conv.regex == r"\d+"]
        if not numbers:
            continue
        url = rule.rule
        for name in rule.arguments:
            url = re.sub(rf"<[^>]*:?{name}>", HUGE if name in numbers else "x", url)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            # 405: a route with text where the number is (a survey's token) matches, for another method
            assert client.open(url, method=method).status_code in (404, 405), (method, url)


def _huge_cursor(value: str) -> str:
    raw = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    raw = [int(HUGE) if isinstance(v, int) else v for v in raw]
    return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")


def _variants(url: str, html: str):
    """(method, action, values) to send: each numeric value of each form, and of each link, made huge."""
    links, forms = parse(html, url)
    for link in links:
        parts = urlsplit(link)
        query = parse_qsl(parts.query, keep_blank_values=True)
        for i, (name, value) in enumerate(query):
            if NUMBER.match(value) or name == "after":
                changed = list(query)
                changed[i] = (name, _huge_cursor(value) if name == "after" and value else HUGE)
                yield "get", f"{parts.path}?{urlencode(changed)}", {}
    for form in forms:
        base = form.values()
        for f in form.fields:
            numeric = (
                f.kind == "number"
                or NUMBER.match(f.value or "")
                or any(NUMBER.match(option) for option in f.options)
            )
            if numeric and f.name != "csrf_token":
                yield form.method, form.action, {**base, f.name: HUGE}


def test_no_number_a_person_can_send_makes_a_server_error(app, client):
    """Every role in turn (one test, so that the demo company is copied back once, not once per role)."""
    failures = []
    for email in DEMO_ROLES:
        client = app.test_client()  # a fresh browser per role (the fixture set the class)
        sign_in(client, email, DEMO_PASSWORD)
        home = client.get("/", follow_redirects=False).headers["Location"]
        sent = set()
        for url, html in list(walk(client, urlsplit(home).path)):
            for method, action, values in _variants(url, html):
                key = (method, urlsplit(action).path if method == "post" else action, tuple(sorted(values)))
                if key in sent:
                    continue
                sent.add(key)
                if method == "post":
                    response = client.post(action, data=values)
                else:
                    response = client.get(action, query_string=values or None)
                if response.status_code >= 500:
                    failures.append((email, response.status_code, method, action, values))
        assert sent, f"the walk found nothing to send as {email}"
    assert failures == []
