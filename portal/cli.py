"""Flask commands: init-data, seed-demo, create-user, contract-document, seed-bench, worker, run-job, backup,
restore."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from portal.demo import company as demo
from portal.extensions import db
from portal.models import Account, Department
from portal.models.accounts import DEPARTMENTS, ROLES
from portal.services.errors import InvalidInput
from portal.services.identity import auth
from portal.services.reference_data import ensure_reference_data
from portal.uploads import file_store


@click.command("init-data")
def init_data_command() -> None:
    """Create the departments, default routing rules, SLA policies, calendar and survey templates; measure
    the durations of requests handled before the portal recorded them."""
    from portal.services.reporting import kpi

    ensure_reference_data()
    filled = kpi.backfill_durations()
    click.echo(
        "Reference data is in place." + (f" Durations measured for {filled} requests." if filled else "")
    )


@click.command("seed-demo")
@click.option(
    "--seed", default=2026, show_default=True, help="Random seed; the same seed gives the same data."
)
@click.option(
    "--password", default=demo.DEMO_PASSWORD, show_default=True, help="Password of every demo user."
)
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), help="Pretend it is this day (default: today).")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has users.")
def seed_demo_command(seed: int, password: str, today: object, if_empty: bool) -> None:
    """Load the demo company: twelve logins, three accounts, six months of requests."""
    if not demo.database_is_empty():
        if if_empty:
            click.echo("The database already has users; demo data not loaded.")
            return
        raise click.ClickException("The database already has users; seed-demo only fills an empty database.")
    day = today.date() if today is not None else None  # type: ignore[attr-defined]
    summary = demo.seed_demo(seed=seed, password=password, today=day, files=file_store())
    click.echo(
        f"Demo data loaded: {summary.users} users, {summary.accounts} accounts, "
        f"{summary.contracts} contracts, {summary.requests} requests."
    )


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--name", "full_name", required=True)
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--account", "account_name", help="The account's name (customers only).")
@click.option("--department", "department_codes", multiple=True, type=click.Choice(DEPARTMENTS))
@click.option("--language", type=click.Choice(["zh", "en"]))
@click.password_option(help="At least 10 characters; asked for when not given.")
def create_user_command(
    email: str,
    full_name: str,
    role: str,
    account_name: str | None,
    department_codes: tuple[str, ...],
    language: str | None,
    password: str,
) -> None:
    """Create a user of any role."""
    ensure_reference_data()
    account = None
    if account_name:
        account = db.session.scalar(
            select(Account).where((Account.name == account_name) | (Account.name_en == account_name))
        )
        if account is None:
            raise click.ClickException(f"No account is called {account_name!r}.")
    departments = list(db.session.scalars(select(Department).where(Department.code.in_(department_codes))))
    try:
        user = auth.create_user(
            email=email,
            password=password,
            full_name=full_name,
            role=role,
            account=account,
            departments=departments,
            locale=language,
        )
    except InvalidInput as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"Created {user.role} {user.email} (id {user.id}).")


@click.command("contract-document")
@click.argument("number")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def contract_document_command(number: str, path: Path) -> None:
    """Attach the signed PDF of contract NUMBER; its account's users can then download it."""
    from flask import current_app

    from portal.models import Contract
    from portal.services.contracts import contracts
    from portal.services.requests.attachments import Upload

    contract = db.session.scalar(select(Contract).where(Contract.number == number))
    if contract is None:
        raise click.ClickException(f"No contract numbered {number}.")
    try:
        contracts.attach_signed_document(
            contract,
            Upload(path.name, path.read_bytes()),
            None,
            files=file_store(),
            max_bytes=current_app.config["UPLOAD_MAX_BYTES"],
        )
    except InvalidInput as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{path.name} is now the signed document of {number}.")


@click.command("seed-bench")
@click.option(
    "--accounts",
    default=200,
    show_default=True,
    help="New accounts (0: add to the existing benchmark accounts).",
)
@click.option("--requests", "request_count", default=100_000, show_default=True)
@click.option("--seed", default=1, show_default=True)
def seed_bench_command(accounts: int, request_count: int, seed: int) -> None:
    """Add a large data set for the benchmark (on top of whatever is there)."""
    from portal.demo.bench import seed_bench

    made = seed_bench(accounts=accounts, requests=request_count, seed=seed)
    click.echo(f"Benchmark data loaded: {accounts} accounts, {made} requests.")


@click.command("worker")
@click.option("--workers", default=2, show_default=True, help="Threads that run tasks.")
@click.option(
    "--no-periodic", is_flag=True, help="Do not run the periodic jobs (run them on one worker only)."
)
@with_appcontext
def worker_command(workers: int, no_periodic: bool) -> None:
    """Run background tasks and periodic jobs (SLA sweep, auto-close, reminders, email retries)."""
    from flask import current_app

    from portal import tasks

    tasks.use_app(current_app._get_current_object())  # type: ignore[attr-defined]
    consumer = tasks.huey.create_consumer(workers=workers, worker_type="thread", periodic=not no_periodic)
    periodic = "off" if no_periodic else "on"
    click.echo(f"Worker: {workers} threads on {type(tasks.huey.storage).__name__}; periodic jobs {periodic}.")
    consumer.run()


@click.command("run-job")
@click.argument(
    "job",
    type=click.Choice(
        [
            "sla-sweep",
            "auto-close",
            "contract-expiry",
            "return-visits",
            "relationship-surveys",
            "recover-exports",
            "monthly-statements",
        ]
    ),
)
def run_job_command(job: str) -> None:
    """Run one periodic job now (it is idempotent: nobody is told twice)."""
    from flask import current_app

    from portal.services.engagement import surveys
    from portal.services.messaging import reminders
    from portal.services.reporting import exports
    from portal.timeutil import today_in

    count = {
        "sla-sweep": reminders.sla_sweep,
        "auto-close": reminders.auto_close,
        "contract-expiry": reminders.contract_expiry,
        "return-visits": reminders.return_visits_due,
        "recover-exports": exports.recover_jobs,
        "monthly-statements": lambda: exports.monthly_statements(
            today_in(current_app.config["DEFAULT_TIMEZONE"]), file_store()
        ),
        "relationship-surveys": lambda: surveys.invite_relationship(
            today_in(current_app.config["DEFAULT_TIMEZONE"])
        ),
    }[job]()
    click.echo(f"{job}: {count}")


@click.command("mail-in")
@click.option("--host", default=None, help="Address to listen on (MAIL_IN_HOST).")
@click.option("--port", type=int, default=None, help="Port to listen on (MAIL_IN_PORT).")
@click.option("--lmtp", is_flag=True, help="Speak LMTP (as Postfix's lmtp transport does) instead of SMTP.")
@with_appcontext
def mail_in_command(host: str | None, port: int | None, lmtp: bool) -> None:
    """Receive the portal's mail from the mail server: replies onto their requests (see the README)."""
    import time

    from flask import current_app

    from portal import mail_in

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    host, port = host or app.config["MAIL_IN_HOST"], port or int(app.config["MAIL_IN_PORT"])
    listener = mail_in.controller(app, host=host, port=port, lmtp=lmtp)
    listener.start()
    click.echo(f"Mail in: {'LMTP' if lmtp else 'SMTP'} on {host}:{port}. Ctrl-C stops.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        listener.stop()


@click.command("mail-poll")
@with_appcontext
def mail_poll_command() -> None:
    """Read the IMAP mailbox (MAIL_IMAP_*) once: its unread messages, each marked read once stored (the
    worker does this every minute)."""
    from flask import current_app

    from portal import mail_in

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config["MAIL_IMAP_HOST"]:
        raise click.ClickException("no IMAP mailbox is set: MAIL_IMAP_HOST")
    polled = mail_in.poll_mailbox(app)
    click.echo(f"Mail from IMAP: {polled.stored} stored, {polled.failed} left for the next round.")
    if polled.failed:
        raise click.ClickException("some messages could not be stored")


def init_app(app: Flask) -> None:
    for command in (
        mail_in_command,
        mail_poll_command,
        init_data_command,
        seed_demo_command,
        create_user_command,
        contract_document_command,
        seed_bench_command,
        worker_command,
        run_job_command,
        backup_command,
        restore_command,
        storage_group,
        search_group,
    ):
        app.cli.add_command(command)


@click.command("backup")
@click.argument("dest", type=click.Path(path_type=Path))
@with_appcontext
def backup_command(dest: Path) -> None:
    """Back up the database and the stored files into the new directory DEST."""
    from portal import backup

    try:
        manifest = backup.backup(dest, file_store())
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Backed up to {dest}: {manifest['database']} and {manifest['files']} stored files.")


@click.command("restore")
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.confirmation_option(prompt="This replaces the whole database and adds the backup's files. Go on?")
@with_appcontext
def restore_command(source: Path) -> None:
    """Restore a backup made by `flask backup` (stop the web and worker processes first), then verify it."""
    from portal import backup

    try:
        found = backup.restore(source, file_store())
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Database check: {found.database}; {found.files_checked} stored files checked.")
    if not found.ok:
        raise click.ClickException(
            f"{len(found.missing)} files missing, {len(found.mismatched)} not matching their rows: "
            + ", ".join((found.missing + found.mismatched)[:10])
        )


@click.group("storage")
def storage_group() -> None:
    """The stored files: move them between the database and the upload folder, and check them."""


@storage_group.command("migrate")
@click.option("--to", "to", type=click.Choice(["database", "filesystem"]), required=True)
@with_appcontext
def storage_migrate_command(to: str) -> None:
    """Move every stored file into the store TO, each read back and checked against its SHA-256 before its old
    copy goes. Safe while the portal runs and safe to run again; set FILE_STORAGE to TO as well, so that new
    files go there too."""
    moved = file_store().migrate(to)
    click.echo(f"Moved {moved.count} stored files to the {to} store.")
    if current_app.config["FILE_STORAGE"] != to:
        click.echo(f"FILE_STORAGE is {current_app.config['FILE_STORAGE']}: new files still go there.")
    if moved.failed:
        raise click.ClickException(
            f"{len(moved.failed)} files could not be moved: " + "; ".join(moved.failed[:10])
        )


@storage_group.command("check")
@with_appcontext
def storage_check_command() -> None:
    """Read every stored file through and check it against its row; list files that no row names."""
    found = file_store().check()
    click.echo(
        f"{found.files} stored files checked: {len(found.unreadable)} unreadable, "
        f"{len(found.orphans)} without a row."
    )
    for line in found.unreadable + [f"without a row: {name}" for name in found.orphans]:
        click.echo(f"  {line}")
    if not found.ok:
        raise click.ClickException("the stored files are not all in order")


@click.group("search")
def search_group() -> None:
    """The search index: made afresh from the tables when something went round it."""


@search_group.command("reindex")
@with_appcontext
def search_reindex_command() -> None:
    """Make every search entry afresh from the requests, replies, notes, reports, accounts and contracts, in
    one transaction (searches keep reading the old entries until it commits). Safe to run again."""
    from portal.services.search import index

    with db.engine.begin() as connection:
        count = index.rebuild(connection)
    click.echo(f"Indexed {count} entries for search.")
