"""The links and forms of a page as a browser sees them (stdlib ``html.parser``): enough for tests that walk
the app as a person would and then send each form with one value changed."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


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

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
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

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def parse(html: str, base: str) -> tuple[list[str], list[Form]]:
    parser = _Parser(base)
    parser.feed(html)
    return parser.links, parser.forms
