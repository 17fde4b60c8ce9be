"""Language and time zone: the user's choice, else the browser's, else the account's; times shown in the
user's zone (Asia/Shanghai by default)."""

from __future__ import annotations

from flask import Flask, current_app, has_request_context, request, session
from flask_babel import (
    format_currency,
    format_date,
    format_datetime,
    format_decimal,
    format_percent,
    get_locale,
    gettext,
    ngettext,
)
from flask_login import current_user

from portal import labels
from portal.timeutil import machine_time


def available_languages() -> tuple[str, ...]:
    return tuple(current_app.config["LANGUAGES"])


def select_locale() -> str:
    if not has_request_context():  # CLI commands and background work speak the default language
        return str(current_app.config["DEFAULT_LOCALE"])
    if not current_user.is_authenticated:
        return locale_for(None, None)
    account = current_user.account
    return locale_for(current_user.locale, account.preferred_language if account is not None else None)


def locale_for(person_locale: str | None, account_language: str | None) -> str:
    """The language of this request for a person of these settings (``None`` for nobody signed in): their
    own choice, else the one chosen in this browser, else the browser's, else their account's."""
    languages = available_languages()
    if person_locale in languages:
        return str(person_locale)
    if session.get("locale") in languages:
        return str(session["locale"])
    browser = request.accept_languages.best_match(languages)
    if browser:
        return browser
    if account_language:
        return account_language
    return str(current_app.config["DEFAULT_LOCALE"])


def select_timezone() -> str:
    if has_request_context() and current_user.is_authenticated and current_user.timezone:
        return str(current_user.timezone)
    return str(current_app.config["DEFAULT_TIMEZONE"])


def business_duration(minutes: int | None) -> str:
    """Minutes as people read them: "3 h 20 min", "2 d 1 h" (a business day is 9 hours)."""
    if minutes is None:
        return "–"
    minutes = abs(int(minutes))
    days, rest = divmod(minutes, 9 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return gettext("%(d)d d %(h)d h", d=days, h=hours)
    if hours:
        return gettext("%(h)d h %(m)d min", h=hours, m=mins)
    return gettext("%(m)d min", m=mins)


def readable_size(size: int) -> str:
    if size >= 1048576:
        return f"{format_decimal(round(size / 1048576, 1))} MB"
    return f"{format_decimal(max(round(size / 1024), 1))} KB"


def quantity(amount: object, unit: str) -> str:
    """An amount with its unit, singular or plural as the language wants ("1 day", "1.5 days", "1 天")."""
    number = format_decimal(amount)
    n = 1 if amount == 1 else 2
    if unit == "day":
        return ngettext("%(amount)s day", "%(amount)s days", n, amount=number)
    if unit == "hour":
        return ngettext("%(amount)s hour", "%(amount)s hours", n, amount=number)
    if unit == "report":
        return ngettext("%(amount)s report", "%(amount)s reports", n, amount=number)
    if unit == "session":
        return ngettext("%(amount)s session", "%(amount)s sessions", n, amount=number)
    return f"{number} {labels.label('unit', unit)}"


def current_language() -> str:
    return str(get_locale() or current_app.config["DEFAULT_LOCALE"])


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        format_datetime=format_datetime,
        format_date=format_date,
        format_decimal=format_decimal,
        format_currency=format_currency,
        format_percent=format_percent,
        label=labels.label,
        business_duration=business_duration,
        readable_size=readable_size,
        quantity=quantity,
        machine_time=machine_time,
    )

    @app.context_processor
    def language_context() -> dict[str, object]:
        lang = current_language()
        return {
            "lang": lang,
            "html_lang": "zh-CN" if lang == "zh" else "en",
            "languages": available_languages(),
        }
