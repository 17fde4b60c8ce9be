"""The links and forms of a page as a browser sees them (stdlib ``html.parser``): enough for tests that walk
the app as a person would and then send each form with one value changed."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

from flask import current_app

# One demo login per kind of home, for the tests that walk the app as each role.
DEMO_ROLES = (
    "li.na@huaxin-bank.example",
    "aftersales@portal.example",
    "sales@portal.example",
    "finance@portal.example",
    "manager@portal.example",
    "admin@portal.example",
)


@dataclass
class Field:
    name: str
    kind: str  # input type, "select" or "textarea"
    value: str = ""
    options: list[str] = field(default_factory=list)


@dataclass
class Form:
    action: str
    method: str
    fields: list[Field] = field(default_factory=list)

    def values(self) -> dict[str, str]:
        """What the form sends as it stands: each field's value, a select's first (or selected) option."""
        out: dict[str, str] = {}
        for f in self.fields:
            if f.kind in ("checkbox", "radio", "file", "submit", "button", "reset"):
                continue
            out.setdefault(f.name, f.value if f.kind != "select" else (f.value or next(iter(f.options), "")))
        return out


class _Parser(HTMLParser):
    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base
        self.links: list[str] = []
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: Field | None = None
        # What a person reads: text outside script, style, select options and identifiers a person types
        # (<code class="identifier">).
        self.texts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag in ("script", "style", "option", "title") or (
            tag == "code" and "identifier" in a.get("class", "")
        ):
            self._skip += 1
        if tag == "a" and a.get("href", "").startswith("/"):
            self.links.append(a["href"])
        elif tag == "form":
            self._form = Form(a.get("action") or self.base, (a.get("method") or "get").lower())
            self.forms.append(self._form)
        elif self._form is not None and tag in ("input", "textarea") and a.get("name"):
            kind = a.get("type", "text").lower() if tag == "input" else "textarea"
            self._form.fields.append(Field(a["name"], kind, a.get("value", "")))
        elif self._form is not None and tag == "select" and a.get("name"):
            self._select = Field(a["name"], "select")
            self._form.fields.append(self._select)
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            self._select.options.append(value)
            if "selected" in a:
                self._select.value = value

    def handle_data(self, data: str) -> None:
        if self._skip == 0 and data.strip():
            self.texts.append(data.strip())

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "option", "title", "code"):
            self._skip = max(self._skip - 1, 0)
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def parse(html: str, base: str) -> tuple[list[str], list[Form]]:
    parser = _Parser(base)
    parser.feed(html)
    return parser.links, parser.forms


def texts(html: str) -> list[str]:
    parser = _Parser("/")
    parser.feed(html)
    return parser.texts


def walk(client, start: str, per_endpoint: int = 2, at_most: int = 120) -> Iterator[tuple[str, str]]:
    """Pages reached from ``start`` by following links, a few per endpoint: (url, html)."""
    adapter = current_app.url_map.bind("localhost")
    seen_urls, per = {start}, Counter()
    todo = deque([start])
    while todo and sum(per.values()) < at_most:
        url = todo.popleft()
        response = client.get(url)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        html = response.get_data(as_text=True)
        yield url, html
        for link in parse(html, url)[0]:
            path = urlsplit(link).path
            try:
                endpoint, _ = adapter.match(path, method="GET")
            except Exception:  # noqa: BLE001 - a static file or another site's path
                continue
            if link in seen_urls or endpoint in ("auth.logout", "static") or per[endpoint] >= per_endpoint:
                continue
            seen_urls.add(link)
            per[endpoint] += 1
            todo.append(link)
