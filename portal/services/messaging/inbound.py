"""Mail in: a message the mail server hands over (``flask mail-in``) becomes a reply on its request or a new
request, or is kept for staff to look at — never answered automatically, and never twice.

The order of questions, each answered once (``receive``):

1. Seen before? A message is stored once by its ``Message-ID`` (of its bytes when it has none).
2. Readable? What cannot be parsed is kept as ``malformed``.
3. Automatic? Auto-replies, bounces, mailing lists and our own notices come back (``Auto-Submitted``,
   ``Precedence``, ``X-Autoreply``/``X-Autorespond``, a delivery report, a ``Message-ID`` we made) are
   ``ignored``.
4. Forged? When our mail server says the sender's domain did not send it (DMARC in
   ``Authentication-Results``), it is kept ``unmatched`` — a forged ``From`` acts for nobody.
5. Which request? The thread token (``threads``) in the address it was sent to or in its threading headers;
   otherwise a reference in the subject. A forward (``Fwd:``, ``转发:``) is new mail, never a follow-up.
6. May the sender reply there? Whatever names the request, the reply is written as the *sender's own* user,
   and only if that user may reply to it (``permissions.can_reply``). So a stranger's mail that quotes
   another account's reference — or carries a forwarded notice's token — is kept ``unmatched``, not appended.
7. What did they write? The text part (HTML made plain text), cut at our "reply above this line" marker or
   the quoting header of the usual mail clients (Outlook, Foxmail, Gmail, Apple Mail, in Chinese and English);
   attachments pass the upload checks, and a refused one is left out and named in the record.
8. No request named (new mail, or a forward)? From an active contact of an account, it is ``filed`` as a
   new request as the administrator set mail intake up (``routing.mail_intake``), and the usual
   acknowledgement answers it; from anyone else it is kept ``unmatched`` and never answered.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr

import html2text
from flask_babel import lazy_gettext as _l
from mailparser_reply import EmailReplyParser
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal import permissions
from portal.extensions import db
from portal.models import InboundMail, ServiceRequest, User
from portal.models.base import utcnow
from portal.services.errors import DomainError
from portal.services.messaging import threads
from portal.services.requests import attachments, routing, workflow
from portal.services.requests import intake as requests_intake
from portal.services.storage import FileStore
from portal.services.unit_of_work import use_case
from portal.timeutil import today_for

log = logging.getLogger(__name__)

FORWARD = re.compile(r"^\s*(?:fwd?|fw|转发|轉寄|转寄|转)\s*[:：]", re.IGNORECASE)
_PREFIX = re.compile(
    r"^\s*(?:re|aw|sv|fwd?|fw|回复|回覆|答复|答覆|转发|轉寄|转寄|转)\s*(?:\[\d+\])?\s*[:：]\s*", re.IGNORECASE
)
_DMARC = re.compile(r"\bdmarc\s*=\s*([a-z]+)", re.IGNORECASE)
AUTOMATIC_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
# Where the quoted history begins, as the mail clients our customers use write it (the reply parser below
# knows the English ones; its Chinese ones do not match what Foxmail, QQ Mail or NetEase send).
_LINE = re.MULTILINE
_QUOTE_STARTS = [
    re.compile(r"##-\s*请在此行以上回复"),  # our marker (mail.REPLY_ABOVE), however a client quoted it
    re.compile(r"^[>\s]*-{2,}\s*(?:原始邮件|原始郵件|Original Message)\s*-{2,}", _LINE | re.IGNORECASE),
    re.compile(r"^[>\s]*在\s*\d{4}\s*年.{0,80}?写道\s*[:：]", _LINE),
    re.compile(r"^[>\s]*於\s*\d{4}\s*年.{0,80}?寫道\s*[:：]", _LINE),
    re.compile(
        r"^[>\s]*\*?(?:发件人|發件人)\s*[:：].*\n[>\s]*\*?(?:发送时间|發送時間|日期|时间)\s*[:：]", _LINE
    ),
]


def _key(message_id: str, raw: bytes) -> str:
    return hashlib.sha256(message_id.strip().encode() if message_id.strip() else raw).hexdigest()


def parse(raw: bytes) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    if message.defects and not message.keys():
        raise ValueError("; ".join(type(defect).__name__ for defect in message.defects))
    return message


def _header(message: EmailMessage, name: str) -> str:
    try:
        return str(message.get(name, "") or "")
    except Exception:  # a header the policy cannot decode: what it says cannot be trusted either
        return ""


def _automatic(message: EmailMessage) -> str | None:
    """Why this message answers itself (and must never be answered or appended), or None."""
    auto = _header(message, "Auto-Submitted").strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    precedence = _header(message, "Precedence").strip().lower()
    if precedence in AUTOMATIC_PRECEDENCE:
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response"):
        if _header(message, name):
            return name
    if message.get_content_type() == "multipart/report" or _header(message, "Return-Path").strip() == "<>":
        return "delivery report"
    sender = parseaddr(_header(message, "From"))[1].lower()
    if sender.split("@")[0] in ("mailer-daemon", "postmaster"):
        return "delivery report"
    if threads.is_ours(_header(message, "Message-ID")) or sender == threads.service_address():
        return "our own message"
    return None


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = part.get_content()
    if part.get_content_type() == "text/html":
        converter = html2text.HTML2Text(bodywidth=0)
        converter.ignore_images = True
        content = converter.handle(content)
    return str(content).replace("\r\n", "\n")


def latest_reply(text: str) -> str:
    """What the sender wrote above the quoted history and their signature."""
    cut = min((m.start() for pattern in _QUOTE_STARTS if (m := pattern.search(text))), default=len(text))
    text = text[:cut]
    parsed = EmailReplyParser(languages=["en", "zh"]).read(text)
    body = parsed.replies[0].body if parsed.replies else text
    return body.strip() or text.strip()


def _uploads(message: EmailMessage) -> list[attachments.Upload]:
    found = []
    for part in message.iter_attachments():
        if part.get("Content-ID") and part.get_content_disposition() != "attachment":
            continue  # an image inside the HTML (a signature's logo), not a file the sender attached
        data = part.get_payload(decode=True)
        if isinstance(data, bytes):
            found.append(attachments.Upload(part.get_filename() or "", data))
    return found


@dataclass(frozen=True)
class ReadBack:
    """A stored message as staff read it: its headers in words, its text (HTML made plain text, never
    rendered) and the names of its files. ``problem`` says why the text could not be read."""

    sender: str
    to: str
    date: str
    subject: str
    text: str
    files: list[tuple[str, int]]
    problem: str = ""


def read_back(raw: bytes) -> ReadBack:
    """What a person sees of a message that matched nothing — also of one that could not be parsed (its
    bytes decoded as far as they go)."""
    try:
        message = parse(raw)
    except Exception as error:
        return ReadBack("", "", "", "", raw.decode("utf-8", "replace"), [], problem=str(error))
    try:
        text, problem = _text(message), ""
    except Exception as error:  # a body no charset decodes
        text, problem = "", str(error)
    files = [(upload.filename or "—", len(upload.data)) for upload in _uploads(message)]
    return ReadBack(
        _header(message, "From"),
        _header(message, "To"),
        _header(message, "Date"),
        _header(message, "Subject"),
        text,
        files,
        problem,
    )


def _sender_user(address: str) -> User | None:
    if not address:
        return None
    return db.session.scalar(select(User).where(func.lower(User.email) == address.lower()))


@use_case
def receive(
    raw: bytes,
    *,
    files: FileStore,
    max_bytes: int,
    recipients: Sequence[str] = (),
    now: datetime | None = None,
) -> InboundMail:
    """Store one delivered message and do what it asks (see the module); the same message again returns the
    first record unchanged. ``recipients`` are the envelope's (the SMTP ``RCPT TO`` addresses)."""
    now = now or utcnow()
    try:
        message: EmailMessage | None = parse(raw)
    except Exception as error:  # kept and reported, never the listener's end
        log.warning("unreadable mail (%s bytes): %s", len(raw), error)
        message = None
    message_id = _header(message, "Message-ID").strip() if message is not None else ""
    key = _key(message_id, raw)
    existing = db.session.scalar(select(InboundMail).where(InboundMail.message_key == key))
    if existing is not None:
        return existing
    stored_name, storage = files.put(raw)
    record = InboundMail(
        message_key=key,
        message_id=message_id[:998],
        stored_name=stored_name,
        storage=storage,
        size_bytes=len(raw),
        sha256=hashlib.sha256(raw).hexdigest(),
        received_at=now,
        outcome="malformed",
        cause="unreadable",
        reason="the message could not be read" if message is None else "",
    )
    try:
        with db.session.begin_nested():
            db.session.add(record)
    except IntegrityError:  # the same message, delivered twice at once: the other delivery stored it
        return db.session.scalars(select(InboundMail).where(InboundMail.message_key == key)).one()
    if message is not None:
        _handle(record, message, recipients, files=files, max_bytes=max_bytes, now=now)
    return record


def _handle(
    record: InboundMail,
    message: EmailMessage,
    recipients: Sequence[str],
    *,
    files: FileStore,
    max_bytes: int,
    now: datetime,
) -> None:
    record.subject = _header(message, "Subject")[:2000]
    record.sender = parseaddr(_header(message, "From"))[1].lower()[:320]
    automatic = _automatic(message)
    if automatic:
        record.outcome, record.cause, record.reason = "ignored", "", automatic
        return
    spoofed = _failed_authentication(message)
    if spoofed:
        record.outcome, record.cause, record.reason = "unmatched", "unconfirmed_sender", spoofed
        return
    request, found_by = _request_of(message, record.subject, recipients)
    author = _sender_user(record.sender)
    record.outcome, record.cause = "unmatched", ""
    if request is None:
        _file_new(
            record, message, author, forward=found_by == "forward", files=files, max_bytes=max_bytes, now=now
        )
        return
    record.request_id = request.id
    if author is None or not author.may_sign_in or not permissions.can_reply(author, request):
        record.cause = "may_not_reply"
        record.reason = f"the sender may not reply to {request.reference} (found by {found_by})"
        return
    record.author_id = author.id
    try:
        body = latest_reply(_text(message))
    except Exception as error:  # an undecodable body: keep the message for staff
        record.cause, record.reason = "unreadable", f"the text could not be read: {error}"
        return
    uploads, refused = _checked_uploads(message, max_bytes)
    if not body and not uploads:
        record.outcome, record.reason = "ignored", "an empty reply"
        return
    try:
        with db.session.begin_nested():
            event = workflow.reply_with_files(
                request,
                author,
                body or str(_l("(files sent by email)")),
                uploads,
                files=files,
                max_bytes=max_bytes,
                now=now,
            )
            db.session.flush()
    except DomainError as error:
        record.cause, record.reason = "refused", f"the reply was refused: {error}"
        return
    record.outcome, record.event_id = "reply", event.id
    record.reason = "; ".join([f"found by {found_by}", *(f"file left out: {r}" for r in refused)])


def _failed_authentication(message: EmailMessage) -> str | None:
    """Our mail server's verdict that the sender's domain did not send this (DMARC failed): a forged
    ``From`` must not reply or file as the person it names. The server stamps ``Authentication-Results``
    (RFC 8601) and removes any the sender wrote; without one, there is no verdict to go by."""
    for result in message.get_all("Authentication-Results") or ():
        verdict = _DMARC.search(str(result))
        if verdict and verdict[1].lower() in ("fail", "reject", "quarantine"):
            return f"the sender's domain did not send it (dmarc={verdict[1].lower()})"
    return None


def _checked_uploads(message: EmailMessage, max_bytes: int) -> tuple[list[attachments.Upload], list[str]]:
    """The attachments that pass the upload checks, and what was refused of the others (and why)."""
    uploads, refused = [], []
    for upload in _uploads(message):
        try:
            attachments.check(upload, max_bytes)
            uploads.append(upload)
        except DomainError as error:
            refused.append(f"{attachments.safe_name(upload.filename) or '?'}: {error}")
    return uploads, refused


def title_of(subject: str, text: str) -> str:
    """A request's title from a mail: its subject without the reply and forward prefixes of any client,
    else its first line."""
    title = subject
    while (prefix := _PREFIX.match(title)) is not None:
        title = title[prefix.end() :]
    title = " ".join(title.split()) or next((line.strip() for line in text.splitlines() if line.strip()), "")
    return title[:200] or str(_l("Request by email"))


def request_contents(
    message: EmailMessage, *, forward: bool, max_bytes: int
) -> tuple[str, list[attachments.Upload], list[str]]:
    """What a new request made from this mail holds: its text (the latest reply; a forward all it
    carries), the files that pass the upload checks, and the names of those that did not. Raises when the
    text cannot be decoded."""
    text = _text(message)
    description = text.strip() if forward else latest_reply(text)
    uploads, refused = _checked_uploads(message, max_bytes)
    return description, uploads, refused


def _file_new(
    record: InboundMail,
    message: EmailMessage,
    author: User | None,
    *,
    forward: bool,
    files: FileStore,
    max_bytes: int,
    now: datetime,
) -> None:
    """New mail names no request: from a known contact it becomes one (a forward keeps all it carries);
    from anyone else it is kept for staff, and nobody is answered."""
    new_mail = "a forward, new mail" if forward else "no request named"
    if author is None or author.account is None or not permissions.can_file_request(author, author.account):
        record.cause, record.reason = (
            "unknown_sender",
            f"{new_mail}; the sender is not a contact of an account",
        )
        return
    if not author.may_sign_in:
        record.cause, record.reason = "sender_disabled", f"{new_mail}; the sender may not sign in"
        return
    intake = routing.mail_intake()
    if not intake.accepts_new_requests:
        record.cause, record.reason = "intake_off", f"{new_mail}; new requests by email are switched off"
        return
    try:
        description, uploads, refused = request_contents(message, forward=forward, max_bytes=max_bytes)
    except Exception as error:  # an undecodable body: keep the message for staff
        record.cause, record.reason = "unreadable", f"{new_mail}; the text could not be read: {error}"
        return
    if not description and not uploads and not _PREFIX.sub("", record.subject).strip():
        record.outcome, record.reason = "ignored", "an empty message"
        return
    try:
        with db.session.begin_nested():
            filed = requests_intake.file_by_email(
                author.account,
                author,
                title_of(record.subject, description),
                description,
                uploads,
                intake=intake,
                today=today_for(author, now),
                files=files,
                max_bytes=max_bytes,
                now=now,
            )
            db.session.flush()
    except DomainError as error:
        record.cause, record.reason = "refused", f"{new_mail}; the request was refused: {error}"
        return
    record.outcome, record.request_id, record.author_id = "filed", filed.id, author.id
    record.reason = "; ".join([new_mail, *(f"file left out: {r}" for r in refused)])


def _request_of(
    message: EmailMessage, subject: str, recipients: Sequence[str]
) -> tuple[ServiceRequest | None, str]:
    if FORWARD.match(subject):
        return None, "forward"
    addressed = [*recipients, *(a for _n, a in getaddresses([_header(message, h) for h in ("To", "Cc")]))]
    headers = [_header(message, h) for h in ("Delivered-To", "X-Original-To", "In-Reply-To", "References")]
    thread = threads.found_in(*addressed, *headers)
    if thread is not None:
        return db.session.get(ServiceRequest, thread.request_id), "thread token"
    reference = threads.REFERENCE.search(subject)
    if reference is not None:
        found = db.session.scalar(
            select(ServiceRequest).where(ServiceRequest.reference == reference[0].upper())
        )
        return found, "subject reference"
    return None, "nothing"
