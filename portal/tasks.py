"""Background work: Huey tasks and periodic jobs, thin wrappers around services.

Where the queue lives: with ``PORTAL_REDIS_URL`` set, in Redis, so several web and worker machines share
it; otherwise in a SQLite file (``PORTAL_HUEY_FILE``, by default ``instance/huey.sqlite3``) that needs no
server. A worker is ``flask --app portal worker`` (``make run`` starts one beside the web server). Tests
switch Huey to immediate mode, so a task runs at once in the caller's thread.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask, current_app, has_app_context
from huey import Huey, RedisHuey, SqliteHuey, crontab

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
INSTANCE = Path(__file__).resolve().parent.parent / "instance"
EMAIL_RETRIES = 4
EMAIL_RETRY_DELAY_SECONDS = 120


def _make_huey() -> Huey:
    redis_url = os.environ.get("PORTAL_REDIS_URL")
    if redis_url:
        return RedisHuey("portal", url=redis_url)
    path = Path(os.environ.get("PORTAL_HUEY_FILE") or INSTANCE / "huey.sqlite3")
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("portal", filename=str(path))


huey = _make_huey()
_worker_app: Flask | None = None


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
    from portal.services import outgoing

    return outgoing.send_notification_email(notification_id, last_try=task is None or task.retries == 0)


def enqueue_email(notification_id: int) -> None:
    """Hand a notice's email to the queue; a queue that cannot take it must not fail the user's action
    (the retry sweep picks up what is left pending)."""
    try:
        send_notification_email(notification_id)
    except Exception:  # noqa: BLE001
        log.exception("could not queue the email of notification %s", notification_id)


@huey.task(retries=EMAIL_RETRIES, retry_delay=EMAIL_RETRY_DELAY_SECONDS)
@in_app
def send_password_reset(user_id: int) -> None:
    from portal.services import outgoing

    outgoing.send_password_reset(user_id)


@huey.task(retries=EMAIL_RETRIES, retry_delay=EMAIL_RETRY_DELAY_SECONDS)
@in_app
def send_invitation(user_id: int, inviter_id: int) -> None:
    from portal.services import outgoing

    outgoing.send_invitation(user_id, inviter_id)


def safely(task: Callable[..., Any], *args: Any) -> None:
    try:
        task(*args)
    except Exception:  # noqa: BLE001
        log.exception("could not queue %s", getattr(task, "name", task))


@huey.task()
@in_app
def build_summaries_zip(job_id: int) -> None:
    from portal.services import exports
    from portal.uploads import upload_folder

    exports.build_zip(job_id, upload_folder())


# --- periodic jobs (each idempotent: running it twice tells nobody twice) ---------------------------------


@huey.periodic_task(crontab(minute="*/5"))
@in_app
def sla_sweep() -> int:
    from portal.services import reminders

    return reminders.sla_sweep()


@huey.periodic_task(crontab(minute="7"))
@in_app
def auto_close() -> int:
    from portal.services import reminders

    return reminders.auto_close()


@huey.periodic_task(crontab(hour="1", minute="15"))
@in_app
def contract_expiry_reminders() -> int:
    from portal.services import reminders

    return reminders.contract_expiry()


@huey.periodic_task(crontab(hour="1", minute="30"))
@in_app
def return_visit_reminders() -> int:
    from portal.services import reminders

    return reminders.return_visits_due()


@huey.periodic_task(crontab(hour="2", minute="0"))
@in_app
def relationship_surveys() -> int:
    from portal.services import surveys
    from portal.timeutil import today_in

    return surveys.invite_relationship(today_in(_app().config["DEFAULT_TIMEZONE"]))


@huey.periodic_task(crontab(day="1", hour="3", minute="0"))
@in_app
def monthly_statements() -> int:
    from portal.services import exports
    from portal.timeutil import today_in
    from portal.uploads import upload_folder

    return exports.monthly_statements(today_in(_app().config["DEFAULT_TIMEZONE"]), upload_folder())


@huey.periodic_task(crontab(minute="*/10"))
@in_app
def retry_pending_emails() -> int:
    from portal.services import outgoing

    return outgoing.requeue_pending()
