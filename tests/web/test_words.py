"""No page shows a raw code where a label exists: every role's pages, walked link by link through the demo
company in both languages, show words ("Waiting for the customer", "Signed in"), never the codes behind
them (``waiting_customer``, ``auth.sign_in``)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from portal.demo.company import DEMO_PASSWORD
from portal.labels import LABELS
from tests.conftest import sign_in
from tests.html_forms import DEMO_ROLES, texts, walk

pytestmark = pytest.mark.demo_data


# Labelled codes that are also ordinary words of a page, in some language ("Finance" as a heading is a word).
WORDS = {"finance", "key", "other", "public", "retail", "energy", "healthcare", "manufacturing", "telecom"}
# The import's sheets, named by their codes in a workbook and in sentences alike.
WORDS |= {"accounts", "contacts", "contracts", "entitlements"}
# What search finds, named by the plain words (a unit "reports", a heading "Requests").
WORDS |= {"requests", "reports", "request", "reply", "note"}


def _codes() -> tuple[set[str], re.Pattern[str]]:
    # Object types are class names, English words in their own right ("Account").
    kinds = [names for kind, names in LABELS.items() if kind != "audit_object"]
    codes = {code for names in kinds for code in names if code not in WORDS}
    compound = sorted((c for c in codes if "_" in c or "." in c), key=len, reverse=True)
    return codes, re.compile(r"(?<![\w./-])(" + "|".join(map(re.escape, compound)) + r")(?![\w/-])")


def _raw_codes(html: str) -> set[str]:
    codes, compound = _codes()
    found = set()
    for text in texts(html):
        parts = {p.strip() for p in re.split(r"[·,:()（）]", text)}
        found |= {p for p in parts if p in codes}
        found |= set(compound.findall(text))
    return found


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("email", DEMO_ROLES)
def test_no_page_shows_a_raw_code(client, email, language):
    sign_in(client, email, DEMO_PASSWORD)
    client.post_form("/language", {"language": language, "next": "/"}, token_from="/profile")
    home = client.get("/", follow_redirects=False).headers["Location"]
    shown = {}
    try:
        for url, html in walk(client, urlsplit(home).path, per_endpoint=1, at_most=60):
            raw = _raw_codes(html)
            if raw:
                shown[url] = sorted(raw)
    finally:
        client.post_form("/language", {"language": "zh", "next": "/"}, token_from="/profile")
    assert shown == {}
