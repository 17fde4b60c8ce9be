"""Which request a mail belongs to, and who it was written to: the one rule for both directions.

Every notice about a request is sent with a *thread token* — ``ka-<request>-<recipient>-<signature>``, the
signature an HMAC of the two ids under the secret key — in its reply address (``service+<token>@…``) and its
``Message-ID``, and with ``In-Reply-To``/``References`` naming the request's thread, so that mail clients
keep a request's notices together. A reply carries the token back in the address it is sent to or in its
threading headers; a token is believed only if its signature holds. Lower-case hex throughout: mail servers
may change the case of an address.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from email.utils import parseaddr

from flask import current_app

_TOKEN = re.compile(r"ka-(\d{1,12})-(\d{1,12})-([0-9a-f]{16})", re.IGNORECASE)
# A reference in a subject, as the portal writes it ("[SR-2026-000123] …").
REFERENCE = re.compile(r"\bSR-\d{4}-\d{6}\b", re.IGNORECASE)


@dataclass(frozen=True)
class Thread:
    request_id: int
    user_id: int


def _signature(request_id: int, user_id: int) -> str:
    key = str(current_app.secret_key).encode()
    return hmac.new(key, f"mail-thread:{request_id}:{user_id}".encode(), hashlib.sha256).hexdigest()[:16]


def token(thread: Thread) -> str:
    return f"ka-{thread.request_id}-{thread.user_id}-{_signature(thread.request_id, thread.user_id)}"


def mail_domain() -> str:
    return service_address().rpartition("@")[2] or "portal.invalid"


def service_address() -> str:
    """The address mail to the portal goes to (``MAIL_REPLY_ADDRESS``, else the sender's address)."""
    configured = current_app.config.get("MAIL_REPLY_ADDRESS") or current_app.config["MAIL_SENDER"]
    return parseaddr(str(configured))[1].lower()


def reply_address(thread: Thread) -> str:
    local, _at, domain = service_address().partition("@")
    return f"{local}+{token(thread)}@{domain}"


def message_id(thread: Thread | None) -> str:
    unique = secrets.token_hex(8)
    return f"<{token(thread)}.{unique}@{mail_domain()}>" if thread else f"<{unique}@{mail_domain()}>"


def thread_root(thread: Thread) -> str:
    """The ``Message-ID`` every notice of one request refers to: the request's thread in a mail client."""
    return f"<ka-request-{thread.request_id}@{mail_domain()}>"


def is_ours(message_id_header: str) -> bool:
    """A Message-ID the portal made (a notice come back: a loop, never an answer)."""
    return message_id_header.strip().lower().endswith(f"@{mail_domain()}>")


def found_in(*texts: str) -> Thread | None:
    """The first thread token with a good signature in these addresses or headers, if any."""
    for text in texts:
        for match in _TOKEN.finditer(text or ""):
            request_id, user_id, signature = int(match[1]), int(match[2]), match[3].lower()
            if hmac.compare_digest(signature, _signature(request_id, user_id)):
                return Thread(request_id, user_id)
    return None
