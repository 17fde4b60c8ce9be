"""Background work: Huey tasks and periodic jobs, thin wrappers around services.

``init_app(app)`` builds the queue from the app's config — Redis when ``REDIS_URL`` is set (in
``instance/config.py`` or as ``PORTAL_REDIS_URL``), so several web and worker machines share it; otherwise a
SQLite file (``HUEY_FILE``, by default ``huey.sqlite3`` in the instance folder) that needs no server — and
registers with the app how services hand work over (``portal/services/background.py``: by name, see
``JOBS``). A worker is ``flask --app portal worker`` (``make run`` starts one beside the web server).
``TASKS_IMMEDIATE`` (the tests) runs each task at once in the caller's thread.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, has_app_context
from huey import Huey, crontab
from huey.storage import RedisStorage, SqliteStorage

from portal.services import background

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
EMAIL_RETRIES = 4
EMAIL_RETRY_DELAY_SECONDS = 120
# A failed export is tried again (the service's MAX_ATTEMPTS is what counts: a dead worker is a try too).
EXPORT_RETRIES = 2
EXPORT_RETRY_DELAY_SECONDS = 30

# Until init_app says where the queue lives, nothing is written anywhere (an in-memory, immediate queue).
huey = Huey("portal", immediate=True)
_worker_app: Flask | None = None


def init_app(app: Flask) -> None:
    redis_url = app.config.get("REDIS_URL")
    if redis_url:
        huey.storage_class, huey.storage_kwargs = RedisStorage, {"url": redis_url}
    else:
        path = app.config.get("HUEY_FILE") or os.path.join(app.instance_path, "huey.sqlite3")
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        huey.storage_class, huey.storage_kwargs = SqliteStorage, {"filename": str(path)}
    huey._immediate = bool(app.config.get("TASKS_IMMEDIATE"))
    huey.storage = huey.create_storage()
    app.extensions[background.EXTENSION] = hand_over


def hand_over(job: str, *args: Any) -> None:
    JOBS[job](*args)


def use_app(app: Flask) -> None:
    """The app a worker's threads run tasks in (set by ``flask worker``)."""
    global _worker_app
    _worker_app = app


def _app() -> Flask:
    global _worker_app
    if has_app_context():
        return current_app._get_current_object()  # type: ignore[attr-defined,no-any-return]
    if _worker_app is None:  # a consumer started as `huey_consumer portal.tasks.huey`
        from portal import create_app

        _worker_app = create_app()
    return _worker_app


def in_app(function: F) -> F:
    @functools.wraps(function)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with _app().app_context():
            return function(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


# --- email -----------------------------------------------------------------------------------------------


@huey.task(retries=EMAIL_RETRIES, retry_delay=EMAIL_RETRY_DELAY_SECONDS, context=True)
@in_app
def send_notification_email(notification_id: int, task: Any = None) -> str:
    from portal.services.messaging import outgoing

    return outgoing.send_notification_email(notification_id, last_try=task is None or task.retries == 0)


@huey.task(retries=EMAIL_RETRIES, retry_delay=EMAIL_RETRY_DELAY_SECONDS)
@in_app
def send_password_reset(user_id: int) -> None:
    from portal.services.messaging import outgoing

    outgoing.send_password_reset(user_id)


@huey.task(retries=EMAIL_RETRIES, retry_delay=EMAIL_RETRY_DELAY_SECONDS)
@in_app
def send_invitation(user_id: int, inviter_id: int) -> None:
    from portal.services.messaging import outgoing

    outgoing.send_invitation(user_id, inviter_id)


@huey.task(retries=EMAIL_RETRIES, retry_delay=EMAIL_RETRY_DELAY_SECONDS)
@in_app
def send_proposal(proposal_id: int) -> None:
    from portal.services.messaging import outgoing

    outgoing.send_proposal(proposal_id)


@huey.task(retries=EXPORT_RETRIES, retry_delay=EXPORT_RETRY_DELAY_SECONDS)
@in_app
def build_summaries_zip(job_id: int) -> None:
    from datetime import timedelta

    from portal.services.reporting import exports
    from portal.uploads import file_store

    lease = timedelta(seconds=float(_app().config["EXPORT_LEASE_SECONDS"]))
    exports.build_zip(job_id, file_store(), lease)


# --- periodic jobs (each idempotent: running it twice tells nobody twice) ---------------------------------


@huey.periodic_task(crontab(minute="*/5"))
@in_app
def sla_sweep() -> int:
    from portal.services.messaging import reminders

    return reminders.sla_sweep()


@huey.periodic_task(crontab(minute="7"))
@in_app
def auto_close() -> int:
    from portal.services.messaging import reminders

    return reminders.auto_close()


@huey.periodic_task(crontab(hour="1", minute="15"))
@in_app
def contract_expiry_reminders() -> int:
    from portal.services.messaging import reminders

    return reminders.contract_expiry()


@huey.periodic_task(crontab(hour="1", minute="30"))
@in_app
def return_visit_reminders() -> int:
    from portal.services.messaging import reminders

    return reminders.return_visits_due()


@huey.periodic_task(crontab(hour="2", minute="0"))
@in_app
def relationship_surveys() -> int:
    from portal.services.engagement import surveys
    from portal.timeutil import today_in

    return surveys.invite_relationship(today_in(_app().config["DEFAULT_TIMEZONE"]))


# From 03:00 on the 1st, every hour that day: a run cut short (a killed worker, the database restarting) is
# finished by the next; a run that finds every statement issued costs one query.
@huey.periodic_task(crontab(day="1", hour="3-23", minute="0"))
@in_app
def monthly_statements() -> int:
    from portal.services.reporting import exports
    from portal.timeutil import today_in
    from portal.uploads import file_store

    return exports.monthly_statements(today_in(_app().config["DEFAULT_TIMEZONE"]), file_store())


@huey.periodic_task(crontab(minute="*"))
@in_app
def recover_exports() -> int:
    from portal.services.reporting import exports

    return exports.recover_jobs()


@huey.periodic_task(crontab(minute="*"))
@in_app
def poll_mailbox() -> int:
    """The IMAP mailbox, when one is set (MAIL_IMAP_HOST): its unread messages."""
    app = _app()
    if not app.config["MAIL_IMAP_HOST"]:
        return 0
    from portal import mail_in

    return mail_in.poll_mailbox(app).stored


@huey.periodic_task(crontab(minute="*/10"))
@in_app
def retry_pending_emails() -> int:
    from portal.services.messaging import outgoing

    return outgoing.requeue_pending()


# What services may hand over, by name (portal/services/background.py).
JOBS: dict[str, Callable[..., Any]] = {
    "notification_email": send_notification_email,
    "password_reset_email": send_password_reset,
    "invitation_email": send_invitation,
    "proposal_email": send_proposal,
    "summaries_zip": build_summaries_zip,
}
