"""Mail in, by either road: the listener (``flask mail-in``), to which the company's mail server forwards the
portal's mail over SMTP or LMTP (aiosmtpd), or the mailbox (``poll_mailbox``: an IMAP mailbox the worker
reads every minute, or ``flask mail-poll``). Each message is handed to
``services/messaging/inbound.receive``.

Only the service address and its plus addresses (``service+<thread token>@…``) are accepted as recipients;
a message is answered ``250`` once it is stored — whatever became of it, a malformed one included — and
``451`` (try again later) only when it could not be stored (the database is away), so the mail server keeps
it and tries again. With LMTP each recipient gets its own answer, as the protocol asks.
"""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import logging
import re
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session
from flask import Flask

from portal.services.messaging import inbound, threads
from portal.uploads import file_store

log = logging.getLogger(__name__)


class Handler:
    def __init__(self, app: Flask, *, lmtp: bool = False) -> None:
        self.app, self.lmtp = app, lmtp

    def _ours(self, address: str) -> bool:
        with self.app.app_context():
            local, _at, domain = threads.service_address().partition("@")
        wanted_local, _at, wanted_domain = address.lower().partition("@")
        return wanted_domain == domain and (wanted_local == local or wanted_local.startswith(local + "+"))

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if not self._ours(address):
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    def receive(self, raw: bytes, recipients: list[str]) -> int:
        with self.app.app_context():
            record = inbound.receive(
                raw,
                files=file_store(),
                max_bytes=int(self.app.config["UPLOAD_MAX_BYTES"]),
                recipients=recipients,
            )
            log.info("mail in %s: %s (%s)", record.id, record.outcome, record.reason)
            return record.id

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        try:
            await asyncio.to_thread(self.receive, raw, list(envelope.rcpt_tos))
            status = "250 2.0.0 OK"
        except Exception:
            log.exception("mail in: a message could not be stored")
            status = "451 4.3.0 Try again later"
        return "\r\n".join([status] * len(envelope.rcpt_tos)) if self.lmtp else status


class _LmtpController(Controller):
    def factory(self) -> LMTP:
        return LMTP(self.handler, **self.SMTP_kwargs)


def controller(app: Flask, *, host: str, port: int, lmtp: bool = False) -> Controller:
    """A listener for ``app``'s mail, not yet started (``.start()`` / ``.stop()``)."""
    kind: Any = _LmtpController if lmtp else Controller
    return kind(
        Handler(app, lmtp=lmtp),
        hostname=host,
        port=port,
        data_size_limit=int(app.config["MAIL_IN_MAX_BYTES"]),
        decode_data=False,
    )


# --- the mailbox (IMAP) ---------------------------------------------------------------------------------


@dataclass
class Polled:
    stored: int = 0  # messages handed over and marked read
    failed: int = 0  # left unread, for the next round (the database was away, say)


def _connect(config: Any) -> imaplib.IMAP4:
    host, port, security = (
        config["MAIL_IMAP_HOST"],
        int(config["MAIL_IMAP_PORT"]),
        config["MAIL_IMAP_SECURITY"],
    )
    timeout = float(config["MAIL_TIMEOUT_SECONDS"])
    if security == "ssl":
        return imaplib.IMAP4_SSL(host, port, timeout=timeout)
    client = imaplib.IMAP4(host, port, timeout=timeout)
    if security == "starttls":
        client.starttls()
    return client


def _envelope_recipients(raw: bytes) -> list[str]:
    """What the mail server recorded of the envelope (an IMAP message has none of its own)."""
    headers = BytesHeaderParser().parsebytes(raw)
    return [
        a
        for _n, a in getaddresses(headers.get_all("Delivered-To", []) + headers.get_all("X-Original-To", []))
    ]


def poll_mailbox(app: Flask) -> Polled:
    """Read the unread messages of the IMAP mailbox (MAIL_IMAP_*), hand each over, and mark it read once it is
    stored; one that could not be stored stays unread for the next round. Nothing is deleted: the mailbox
    keeps its copy, and a message seen twice is stored once (by its Message-ID)."""
    config, polled = app.config, Polled()
    client = _connect(config)
    try:
        client.login(config["MAIL_IMAP_USER"], config["MAIL_IMAP_PASSWORD"])
        status, _ = client.select(config["MAIL_IMAP_FOLDER"])
        if status != "OK":
            raise RuntimeError(f"the IMAP folder {config['MAIL_IMAP_FOLDER']!r} cannot be opened")
        _status, found = client.uid("SEARCH", "UNSEEN")
        for uid in (found[0] or b"").decode().split():
            _status, parts = client.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((p[1] for p in parts if isinstance(p, tuple) and re.search(rb"BODY\[\]", p[0])), None)
            if raw is None:
                continue
            try:
                Handler(app).receive(raw, _envelope_recipients(raw))
            except Exception:
                log.exception("mail in: IMAP message %s could not be stored", uid)
                polled.failed += 1
                continue
            client.uid("STORE", uid, "+FLAGS", "(\\Seen)")
            polled.stored += 1
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            client.logout()
    return polled
