"""A throw-away PostgreSQL server for the test run: initdb into a temp dir, start on a free loopback
port, remove everything afterwards (``make bench`` keeps its data directory between runs instead:
``persistent_postgres``). PostgreSQL refuses to run as root, so as root it runs as the ``postgres`` user."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


def _bindir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    for candidate in reversed(candidates):
        if Path(candidate, "pg_ctl").exists():
            return Path(candidate)
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    raise RuntimeError(
        "PostgreSQL is not installed: run `make test`, which installs it, or apt-get install postgresql"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    root: Path
    port: int
    as_postgres: bool
    bindir: Path

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/portal_test"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True)

    def start(self, database: str = "portal_test", extra: str = "") -> None:
        data = self.root / "data"
        fresh = not (data / "PG_VERSION").exists()
        if fresh:
            self._run(
                "initdb",
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            )
        options = (
            f"-F -p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=50 {extra}"
        )
        self._run(
            "pg_ctl", "-D", str(data), "-o", options, "-l", str(self.root / "server.log"), "-w", "start"
        )
        import psycopg

        deadline = time.monotonic() + 20
        while True:
            try:
                with psycopg.connect(
                    f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
                ) as conn:
                    if fresh:
                        conn.execute(f"CREATE DATABASE {database}")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self, *, remove: bool = True) -> None:
        try:
            mode = "immediate" if remove else "fast"
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", mode, "-w", "stop")
        finally:
            if remove:
                shutil.rmtree(self.root, ignore_errors=True)


def persistent_postgres(root: Path, database: str) -> PostgresServer:
    """A server whose data directory stays in ``root`` (made on first use); stop it with remove=False."""
    as_postgres = os.geteuid() == 0
    root.mkdir(parents=True, exist_ok=True)
    if as_postgres:
        shutil.chown(root, "postgres", "postgres")
    server = PostgresServer(root=root, port=_free_port(), as_postgres=as_postgres, bindir=_bindir())
    server.start(database)
    return server


def start_postgres() -> PostgresServer:
    as_postgres = os.geteuid() == 0
    root = Path(tempfile.mkdtemp(prefix="portal-pg-"))
    if as_postgres:
        shutil.chown(root, "postgres", "postgres")
    server = PostgresServer(root=root, port=_free_port(), as_postgres=as_postgres, bindir=_bindir())
    # The suite empties its tables with DELETE between tests; without autovacuum reclaiming that space
    # mid-run, rows are stored (and read back unordered) in the order they were written, as after TRUNCATE.
    server.start(extra="-c autovacuum=off")
    return server
