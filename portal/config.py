"""Configuration in layers: these defaults, then ``instance/config.py``, then ``PORTAL_*`` environment
variables, then the mapping a caller (a test) passes to ``create_app``.

Every ``PORTAL_<NAME>`` variable overrides the setting ``<NAME>``; values are parsed as JSON where they
look like it (numbers, ``true``/``false``) so booleans and integers arrive typed.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from typing import Any

DEFAULTS: dict[str, Any] = {
    # SQLite in instance/ unless DATABASE_URL is given (PORTAL_DATABASE_URL=postgresql+psycopg://...).
    "DATABASE_URL": None,
    "SECRET_KEY": None,
    "DEFAULT_LOCALE": "zh",
    "DEFAULT_TIMEZONE": "Asia/Shanghai",
    "LANGUAGES": ("zh", "en"),
    # Sign-in protection: this many failures within the window lock the address for LOCKOUT_MINUTES.
    "LOGIN_MAX_FAILURES": 5,
    "LOGIN_FAILURE_WINDOW_MINUTES": 15,
    "LOCKOUT_MINUTES": 15,
    "LOGIN_RATE_LIMIT": "20 per minute",
    # Argon2id parameters, a profile of argon2.profiles: RFC_9106_LOW_MEMORY | RFC_9106_HIGH_MEMORY
    # (CHEAPEST is for the test suite only). A stored hash keeps its own; a sign-in re-hashes an older one.
    "PASSWORD_HASHING": "RFC_9106_LOW_MEMORY",
    "RATELIMIT_ENABLED": True,
    # Shared by the rate limiter and the task queue; without it the queue is the SQLite file HUEY_FILE
    # (default: huey.sqlite3 in the instance folder).
    "REDIS_URL": None,
    "HUEY_FILE": None,
    # Busy pages, once rendered, are served again until the data changes or the minute turns
    # (portal/page_cache.py): in each worker's memory, or in Redis when REDIS_URL is set (shared by all).
    "PAGE_CACHE": True,
    "PAGE_CACHE_ENTRIES": 2000,
    "TASKS_IMMEDIATE": False,
    # The largest file a person may upload; a form may carry up to UPLOAD_MAX_FILES of them. The request as a
    # whole may be that large (MAX_CONTENT_LENGTH, derived), so that one over-size file is refused in place,
    # under its field, with everything typed kept — not by a bare 413 page.
    "UPLOAD_MAX_BYTES": 20 * 1024 * 1024,
    "UPLOAD_MAX_FILES": 5,
    # Where the bytes of stored files live (portal/services/storage.py): database (shared by every host, in
    # every database backup) or filesystem (UPLOAD_FOLDER, default instance/uploads: a volume every host
    # mounts). `flask storage migrate --to …` moves existing files; `flask storage check` verifies them.
    "FILE_STORAGE": "database",
    "UPLOAD_FOLDER": None,
    "PROXY_FIX": False,
    "SESSION_LIFETIME_HOURS": 12,
    # Links in emails are built from this address, never from the Host header of a request.
    "BASE_URL": "http://127.0.0.1:5000",
    # SMTP; with no MAIL_HOST, messages are written as .eml files to OUTBOX_FOLDER (instance/outbox).
    "MAIL_HOST": None,
    "MAIL_PORT": 25,
    "MAIL_TLS": "none",  # none | starttls | ssl
    "MAIL_USER": None,
    "MAIL_PASSWORD": None,
    "MAIL_SENDER": "Key Account Service <service@portal.example>",
    # Where mail to the portal arrives (replies are plus-addressed to it: service+<thread token>@…);
    # None: the sender's address. ``flask mail-in`` receives it (MAIL_IN_*).
    "MAIL_REPLY_ADDRESS": None,
    "MAIL_IN_HOST": "127.0.0.1",
    "MAIL_IN_PORT": 2525,
    "MAIL_IN_MAX_BYTES": 25 * 1024 * 1024,
    # Or an IMAP mailbox the worker reads every minute (unread messages; each marked read once stored).
    "MAIL_IMAP_HOST": None,
    "MAIL_IMAP_PORT": 993,
    "MAIL_IMAP_SECURITY": "ssl",  # ssl | starttls | none
    "MAIL_IMAP_USER": None,
    "MAIL_IMAP_PASSWORD": None,
    "MAIL_IMAP_FOLDER": "INBOX",
    "MAIL_TIMEOUT_SECONDS": 20,
    "OUTBOX_FOLDER": None,
    # A resolved request the customer leaves unanswered this many days is closed by the system.
    "AUTO_CLOSE_DAYS": 7,
    # A worker building an export renews its lease on it this often at least; a lease that runs out (the
    # worker died) lets another worker take the job over (portal/services/reporting/exports.py).
    "EXPORT_LEASE_SECONDS": 120,
    # /metrics (Prometheus) answers only a scraper sending "Authorization: Bearer <METRICS_TOKEN>"; unset, it
    # does not exist.
    "METRICS_TOKEN": None,
    # One line per request and per unhandled error, to standard error: json | text (portal/logs.py).
    "LOG_FORMAT": "json",
    "LOG_LEVEL": "INFO",
    # How often the bell asks for the unread count (only while the tab is visible).
    "NOTIFICATION_POLL_SECONDS": 60,
}

_ENV_PREFIX = "PORTAL_"


def _parse_env_value(raw: str) -> Any:
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    return value if isinstance(value, bool | int | float) else raw


def environment_overrides(environ: dict[str, str] | None = None) -> dict[str, Any]:
    environ = dict(os.environ) if environ is None else environ
    return {
        key[len(_ENV_PREFIX) :]: _parse_env_value(value)
        for key, value in environ.items()
        if key.startswith(_ENV_PREFIX) and len(key) > len(_ENV_PREFIX)
    }


def finalise(config: dict[str, Any], instance_path: str) -> None:
    """Derive the Flask/extension settings from the portal's own names."""
    url = config.get("DATABASE_URL") or "sqlite:///" + os.path.join(instance_path, "portal.sqlite3")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    config["SQLALCHEMY_DATABASE_URI"] = url
    if url.startswith("sqlite"):
        # A web request that meets a writer waits instead of failing at once.
        config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"timeout": 15}})
    else:
        config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})
    config["BABEL_DEFAULT_LOCALE"] = config["DEFAULT_LOCALE"]
    if config["LOG_FORMAT"] not in ("json", "text"):
        raise ValueError(f"LOG_FORMAT: json or text, not {config['LOG_FORMAT']!r}")
    if config["PASSWORD_HASHING"] not in ("RFC_9106_LOW_MEMORY", "RFC_9106_HIGH_MEMORY", "CHEAPEST"):
        raise ValueError(f"PASSWORD_HASHING: no Argon2 profile {config['PASSWORD_HASHING']!r}")
    if config["FILE_STORAGE"] not in ("database", "filesystem"):
        raise ValueError(f"FILE_STORAGE: database or filesystem, not {config['FILE_STORAGE']!r}")
    upload = int(config["UPLOAD_MAX_BYTES"])
    config["UPLOAD_MAX_BYTES"] = upload
    config["MAX_CONTENT_LENGTH"] = upload * (int(config["UPLOAD_MAX_FILES"]) + 1) + 1024 * 1024
    config["BABEL_DEFAULT_TIMEZONE"] = "UTC"
    config["SESSION_COOKIE_HTTPONLY"] = True
    config["SESSION_COOKIE_SAMESITE"] = "Lax"
    config["REMEMBER_COOKIE_HTTPONLY"] = True
    config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=float(config["SESSION_LIFETIME_HOURS"]))
    # A sign-in lasts that long from signing in (the server checks it); the cookie is not re-signed and
    # re-sent on every answer just to push its expiry on.
    config["SESSION_REFRESH_EACH_REQUEST"] = False
    config["WTF_CSRF_TIME_LIMIT"] = None  # the token lives as long as the session
    # Without Redis the counters live in the database, shared by every worker and host (limits_storage.py).
    config["RATELIMIT_STORAGE_URI"] = config.get("REDIS_URL") or "portal-database://"
    if config.get("REDIS_URL"):
        config.setdefault("CACHE_TYPE", "RedisCache")
        config.setdefault("CACHE_REDIS_URL", config["REDIS_URL"])
    else:
        config.setdefault("CACHE_TYPE", "SimpleCache")
        config.setdefault("CACHE_THRESHOLD", int(config["PAGE_CACHE_ENTRIES"]))
    config.setdefault("CACHE_KEY_PREFIX", "portal-page:")
    config.setdefault("CACHE_DEFAULT_TIMEOUT", 120)
