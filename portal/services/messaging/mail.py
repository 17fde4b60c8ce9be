"""Email: composed from templates under templates/email/ in the recipient's language and time zone, with
plain-text and HTML parts and links built from the configured BASE_URL (never from a request's Host
header); sent through SMTP (``MAIL_*``) or, with no MAIL_HOST, written as .eml files to the outbox folder
so a new user can read them. Sending happens in the task queue (portal/tasks.py), never in a web request.
"""

from __future__ import annotations

import smtplib
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import format_datetime as rfc2822_date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import babel.dates
from flask import current_app, render_template
from flask_babel import force_locale

from portal.models import Account, User
from portal.services.messaging import threads


@dataclass(frozen=True)
class Addressee:
    """Someone the portal writes to who is not (yet) a user — a prospect's contact: what composing an email
    needs of a recipient."""

    email: str
    full_name: str
    locale: str
    timezone: str = ""
    account: Account | None = None


Recipient = User | Addressee


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str
    thread: threads.Thread | None = None  # a notice about a request: its answer comes back to the request
    answers: str = ""  # the Message-ID of the person's own mail this answers (their request by email)


def language_of(user: Recipient) -> str:
    """The person's own choice, else their account's language (there is no browser to ask), else the
    portal's default."""
    if user.locale:
        return user.locale
    if user.account is not None and user.account.preferred_language:
        return user.account.preferred_language
    return str(current_app.config["DEFAULT_LOCALE"])


@contextmanager
def as_recipient(user: Recipient) -> Iterator[None]:
    """Render in the recipient's language with URLs on the configured site address, whatever request (if
    any) is running."""
    with (
        current_app.test_request_context("/", base_url=current_app.config["BASE_URL"]),
        force_locale(language_of(user)),
    ):
        yield


def formatters(user: Recipient) -> tuple[Callable[[datetime], str], Callable[[date], str]]:
    """(moment, day) formatters in the recipient's language and time zone."""
    zone = ZoneInfo(user.timezone or current_app.config["DEFAULT_TIMEZONE"])
    locale = "zh_CN" if language_of(user) == "zh" else "en"

    def at(moment: datetime) -> str:
        return babel.dates.format_datetime(moment.astimezone(zone), "medium", locale=locale)

    def day(value: date) -> str:
        return babel.dates.format_date(value, "medium", locale=locale)

    return at, day


REPLY_ABOVE = "##- 请在此行以上回复 · Please reply above this line -##"


def compose(
    user: Recipient,
    template: str,
    subject: str,
    *,
    thread: threads.Thread | None = None,
    answers: str = "",
    **context: Any,
) -> Email:
    """Render ``email/<template>.txt`` and ``.html`` for ``user``; call inside ``as_recipient(user)``. With a
    ``thread``, the email can be answered: it opens with the line above which a reply is read."""
    at, day = formatters(user)
    context.update(recipient=user, at=at, day=day, subject=subject, reply_above=REPLY_ABOVE if thread else "")
    return Email(
        to=user.email,
        subject=subject,
        text=render_template(f"email/{template}.txt", **context),
        html=render_template(f"email/{template}.html", **context),
        thread=thread,
        answers=answers,
    )


def to_message(email: Email) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_SENDER"]
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Date"] = rfc2822_date(datetime.now().astimezone())
    message["Message-ID"] = threads.message_id(email.thread)
    # RFC 3834: an automatic message, which auto-responders must not answer (and ours are never answered).
    message["Auto-Submitted"] = "auto-generated"
    if email.thread is not None:
        message["Reply-To"] = threads.reply_address(email.thread)
        root = threads.thread_root(email.thread)
        # Answering their own mail, it sits under it in their mail client; every later notice of the
        # request under the same root.
        message["In-Reply-To"] = email.answers or root
        message["References"] = f"{email.answers} {root}" if email.answers else root
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    return message


def outbox_folder() -> Path:
    configured = current_app.config.get("OUTBOX_FOLDER")
    return Path(configured) if configured else Path(current_app.instance_path) / "outbox"


def deliver(email: Email) -> None:
    """Send through SMTP, or write to the outbox when no SMTP server is configured. Raises on failure; the
    task that calls this retries."""
    message = to_message(email)
    config = current_app.config
    if not config.get("MAIL_HOST"):
        folder = outbox_folder()
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{message['Message-ID'].strip('<>').split('@')[0]}.eml"
        (folder / name).write_bytes(bytes(message))
        return
    host, port, timeout = config["MAIL_HOST"], int(config["MAIL_PORT"]), float(config["MAIL_TIMEOUT_SECONDS"])
    tls = (config.get("MAIL_TLS") or "none").lower()
    client: smtplib.SMTP
    if tls == "ssl":
        client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(host, port, timeout=timeout)
    with client:
        if tls == "starttls":
            client.starttls(context=ssl.create_default_context())
        if config.get("MAIL_USER"):
            client.login(config["MAIL_USER"], config.get("MAIL_PASSWORD") or "")
        client.send_message(message)
