"""`make bench`: the busy pages at 100,000 and at 1,000,000 requests, on SQLite and on PostgreSQL, in process
and under load, each beside the floor measured in the same run.

For each database and size it builds (once, then reuses — ``instance/bench/``) the demo company plus 200
accounts and the requests with their timelines; the 1M set grows from the 100k one. Then it measures every
page in process (bench/pages.py: CPU ms, SQL statements, HTML bytes), serves the portal and the floor page
under gunicorn on loopback and drives each page with wrk (16 connections, bounded in time), signed in as the
person who uses it; each page's share of the floor is of the floor measured just before and just after it
(``BENCH_FLOOR_SECONDS`` each), as the machine's speed drifts within a run. Prints one table per database
and size, and how much each page's rendering grew from
100k to 1M (best of the measured run and ``BENCH_GROWTH_ROUNDS`` more in-process runs alternating the sizes).
Nothing here is asserted: it is a measurement. ``BENCH_BACKENDS=sqlite``, ``BENCH_SIZES=100000`` and
``BENCH_SECONDS`` narrow a run; ``BENCH_BUILD_ONLY=1`` only builds.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
VENV_BIN = Path(sys.executable).parent
WORK = Path(os.environ.get("BENCH_DIR", ROOT / "instance" / "bench"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
SIZES = [int(n) for n in os.environ.get("BENCH_SIZES", "100000,1000000").split(",")]
BACKENDS = os.environ.get("BENCH_BACKENDS", "sqlite,postgresql").split(",")
FLOOR_SECONDS = int(os.environ.get("BENCH_FLOOR_SECONDS", "3"))  # the floor again after each page
GROWTH_ROUNDS = int(os.environ.get("BENCH_GROWTH_ROUNDS", "3"))  # more renderings per size, alternated
PASSWORDS = {"customer": "bench-Portal-2026"}
STAFF_PASSWORD = "demo-Portal-2026"
AGENT = "portal-bench"


@dataclass
class Target:
    backend: str
    size: int
    url: str  # the database's SQLAlchemy URL
    instance: Path  # its instance folder (uploads, queue file)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env(target: Target) -> dict[str, str]:
    return {
        **os.environ,
        "PORTAL_SECRET_KEY": "bench-only-secret",
        "PORTAL_INSTANCE_PATH": str(target.instance),
        "PORTAL_DATABASE_URL": target.url,
        "PORTAL_HUEY_FILE": str(target.instance / "huey.sqlite3"),
        "PORTAL_LOGIN_RATE_LIMIT": "1000 per minute",
        "BENCH_DATABASE_URL": target.url,
        "BENCH_DIR": str(target.instance),
    }


def flask(target: Target, *args: str) -> None:
    subprocess.run([str(VENV_BIN / "flask"), "--app", "portal", *args], cwd=ROOT, env=env(target), check=True)


# --- building the data sets, once -------------------------------------------------------------------------


def build(target: Target, smaller: Target | None, copy) -> None:  # noqa: ANN001
    """Make the target's database unless a finished one is there: the smallest size from scratch, a larger
    one as a copy of the next smaller plus the requests it lacks (the same accounts)."""
    marker = target.instance / "built"
    if marker.exists():
        flask(target, "db", "upgrade")  # a database built by an older version gets the newer schema
        return
    started = time.monotonic()
    shutil.rmtree(target.instance, ignore_errors=True)
    target.instance.mkdir(parents=True)
    if smaller is None:
        flask(target, "db", "upgrade")
        flask(target, "seed-demo")
        flask(target, "seed-bench", "--accounts", "200", "--requests", str(target.size))
    else:
        copy(smaller, target)
        flask(target, "db", "upgrade")
        more = str(target.size - smaller.size)
        flask(target, "seed-bench", "--accounts", "0", "--requests", more, "--seed", str(target.size))
    marker.write_text("ok")
    print(f"Built {target.backend} with {target.size:,} requests in {time.monotonic() - started:.0f} s")


def _copy_uploads(source: Target, target: Target) -> None:
    """The files of the filesystem store, if the data set has any (by default they are in the database)."""
    if (source.instance / "uploads").exists():
        shutil.copytree(source.instance / "uploads", target.instance / "uploads", dirs_exist_ok=True)


def copy_sqlite(source: Target, target: Target) -> None:
    import sqlite3

    _copy_uploads(source, target)
    with (
        sqlite3.connect(source.url.removeprefix("sqlite:///")) as old,
        sqlite3.connect(target.url.removeprefix("sqlite:///")) as new,
    ):
        old.backup(new)  # the online backup API: a consistent copy, never a file copy


class Postgres:
    """One PostgreSQL server for the benchmark, its data directory kept under instance/bench/postgresql."""

    def __init__(self) -> None:
        from tests.postgres_server import persistent_postgres

        self.server = persistent_postgres(WORK / "postgresql", "bench_scratch")

    def url(self, size: int) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.server.port}/bench_{size}"

    def sql(self, statement: str, database: str = "postgres") -> None:
        import psycopg

        dsn = f"host=127.0.0.1 port={self.server.port} user=postgres dbname={database}"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(statement)

    def ensure(self, target: Target) -> None:
        if not (target.instance / "built").exists():
            self.sql(f"DROP DATABASE IF EXISTS bench_{target.size}")
            self.sql(f"CREATE DATABASE bench_{target.size}")

    def copy(self, source: Target, target: Target) -> None:
        _copy_uploads(source, target)
        self.sql(f"DROP DATABASE IF EXISTS bench_{target.size}")
        self.sql(f"CREATE DATABASE bench_{target.size} TEMPLATE bench_{source.size}")

    def analyse(self, target: Target) -> None:
        # What autovacuum does on a live server: statistics, and the visibility map for index-only scans.
        self.sql("VACUUM ANALYZE", f"bench_{target.size}")
        # And the pages it dirtied written out now, not by the checkpointer while the pages are timed.
        self.sql("CHECKPOINT")

    def stop(self) -> None:
        self.server.stop(remove=False)


# --- measuring ------------------------------------------------------------------------------------------


def serve(app: str, port: int, target: Target) -> subprocess.Popen[bytes]:
    """gunicorn on loopback; the portal logs every request (one JSON line, as in production) to the data
    set's gunicorn.log rather than over the table."""
    command = [str(VENV_BIN / "gunicorn"), "--workers", str(WORKERS), "--bind", f"127.0.0.1:{port}"]
    command += ["--log-level", "warning", "--no-control-socket", app]  # the portal and the floor side by side
    cwd = ROOT if app.startswith("wsgi") else ROOT / "bench"
    with (target.instance / "gunicorn.log").open("ab") as log:
        return subprocess.Popen(command, cwd=cwd, env=env(target), stderr=log)


def wait_for(url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def sign_in(base: str, email: str, password: str) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", AGENT)]
    page = opener.open(f"{base}/login").read().decode()
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"csrf_token": token, "email": email, "password": password}).encode()
    opener.open(f"{base}/login", data=data).read()
    return next(c.value for c in jar if c.name == "session")


def _wrk_command(
    url: str, cookie: str | None, headers: dict[str, str] | None, seconds: int | None, connections: int
) -> list[str]:
    # The browser that signed in: a session seen from another user agent is marked not fresh on every request.
    options = ["-H", f"User-Agent: {AGENT}"]
    options += ["-H", f"Cookie: session={cookie}"] if cookie else []
    for name, value in (headers or {}).items():
        options += ["-H", f"{name}: {value}"]
    threads = min(2, connections)
    return ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds or SECONDS}s", "--latency", *options, url]


def _wrk_result(url: str, out: str) -> dict[str, float]:
    def ms(label: str) -> float:
        value, unit = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        raise SystemExit(f"{url} answered {non_2xx.group(1)} errors under load:\n{out}")
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "p50": ms("50"),
        "p99": ms("99"),
    }


def wrk(
    url: str, cookie: str | None = None, headers: dict[str, str] | None = None, seconds: int | None = None
) -> dict[str, float]:
    command = _wrk_command(url, cookie, headers, seconds, CONNECTIONS)
    return _wrk_result(url, subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def _json_of(script: str, target: Target, *flags: str):  # noqa: ANN202
    """The last line of a bench script run on the target with --json, read back."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), target.url, "--json", *flags],
        cwd=ROOT,
        env=env(target),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def in_process(target: Target, *flags: str) -> dict:
    return _json_of("pages.py", target, *flags)


def measure(target: Target) -> tuple[list[dict], dict[str, str]]:
    """Each page's row (under load and in process), and who was signed in for them (role: email)."""
    measured = in_process(target)
    portal_port, floor_port = free_port(), free_port()
    servers = [serve("wsgi:app", portal_port, target), serve("floor:app", floor_port, target)]
    try:
        portal, floor = f"http://127.0.0.1:{portal_port}", f"http://127.0.0.1:{floor_port}"
        wait_for(f"{portal}/login")
        wait_for(f"{floor}/floor/1")
        cookies = {
            who: sign_in(portal, email, PASSWORDS.get(who, STAFF_PASSWORD))
            for who, email in measured["people"].items()
        }
        workspace = next(p for p in measured["pages"] if p["name"] == "request workspace")
        request_id = workspace["path"].rsplit("/", 1)[-1]
        floor_url = f"{floor}/floor/{request_id}"
        rows = [{"name": "floor: one indexed query", **wrk(floor_url)}]
        before = rows[0]["rps"]
        for page in measured["pages"]:
            # A second's warm-up first: each worker renders the page once (its cost is the CPU column).
            wrk(portal + page["path"], cookies[page["who"]], page["headers"], seconds=1)
            load = wrk(portal + page["path"], cookies[page["who"]], page["headers"])
            # The floor again right after: a page is compared with the floor measured on either side of
            # it, as this machine's speed drifts within a run (by a third within one table, 2026-12-03).
            after = wrk(floor_url, seconds=FLOOR_SECONDS)["rps"]
            rows.append({**page, **load, "floor_rps": (before + after) / 2})
            before = after
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
    return rows, measured["people"]


def _cpu_seconds(parent: int) -> float:
    """User and system CPU used so far by a process and its children (gunicorn's workers, PostgreSQL's
    backends), read from /proc."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            pid = int(stat.parent.name)
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after the command name: state, ppid, …
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        if pid == parent or int(fields[1]) == parent:
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def scale_out(target: Target, page: dict, email: str, postgres: Postgres) -> str:
    """One read page served by one gunicorn group, then by two (two hosts on one database), wrk's connections
    split between the groups: requests a second and CPU per request, the web tier's and the database's."""
    postmaster = int((postgres.server.root / "data" / "postmaster.pid").read_text().split()[0])
    lines = [
        f"\n{target.backend}, {target.size:,} requests · {page['name']} · gunicorn groups of {WORKERS} "
        f"workers, {CONNECTIONS} connections in all, {SECONDS} s, {os.cpu_count()} cores",
        f"{'groups':>6} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'web CPU ms/req':>14} "
        f"{'db CPU ms/req':>13}",
    ]
    for groups in (1, 2):
        ports = [free_port() for _ in range(groups)]
        servers = [serve("wsgi:app", port, target) for port in ports]
        try:
            bases = [f"http://127.0.0.1:{port}" for port in ports]
            for base in bases:
                wait_for(f"{base}/login")
            cookie = sign_in(bases[0], email, PASSWORDS.get(page["who"], STAFF_PASSWORD))  # valid on both
            for base in bases:
                wrk(base + page["path"], cookie, page["headers"], seconds=1)
            web, database = sum(_cpu_seconds(s.pid) for s in servers), _cpu_seconds(postmaster)
            runs = [
                subprocess.Popen(
                    _wrk_command(base + page["path"], cookie, page["headers"], None, CONNECTIONS // groups),
                    stdout=subprocess.PIPE,
                    text=True,
                )
                for base in bases
            ]
            loads = [_wrk_result(page["path"], run.communicate()[0]) for run in runs]
            web = sum(_cpu_seconds(s.pid) for s in servers) - web
            database = _cpu_seconds(postmaster) - database
        finally:
            for server in servers:
                server.terminate()
                server.wait(timeout=30)
        served = sum(load["requests"] for load in loads)
        lines.append(
            f"{groups:6d} {sum(load['rps'] for load in loads):7.0f} {max(load['p50'] for load in loads):7.1f}"
            f" {max(load['p99'] for load in loads):7.1f} {1000 * web / served:14.1f}"
            f" {1000 * database / served:13.1f}"
        )
    return "\n".join(lines)


def searches(target: Target) -> str:
    """The search box's service in process (bench/search.py): p50/p99 per query and person."""
    import search as search_bench  # bench/search.py, beside this file

    rows = _json_of("search.py", target)
    worst = max(r["p99"] for r in rows)
    title = f"\nSearch, {target.backend}, {target.size:,} requests (in process, wall ms; worst p99 {worst:.0f} ms)"
    return title + "\n" + search_bench.table(rows)


def table(target: Target, rows: list[dict]) -> str:
    lines = [
        f"\n{target.backend}, {target.size:,} requests · wrk {CONNECTIONS} connections, {SECONDS} s · "
        f"gunicorn {WORKERS} workers",
        f"{'page':34} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'floor':>6} {'beside':>6} {'render ms':>9}"
        f" {'SQL':>4} {'KB':>6}",
    ]
    for r in rows:
        extra = (
            f" {r['wall_ms']:9.1f} {r['statements']:4d} {r['bytes'] / 1024:6.1f}"
            if "ms" in r
            else f" {'':9} {'':4} {'':6}"
        )
        beside = r.get("floor_rps", r["rps"])  # the floor measured on either side of this page
        lines.append(
            f"{r['name']:34} {r['rps']:7.0f} {r['p50']:7.1f} {r['p99']:7.1f} {r['rps'] / beside:6.0%}"
            f" {beside:6.0f}{extra}"
        )
    return "\n".join(lines)


def renderings(
    targets: list[Target], results: dict[tuple[str, int], list[dict]]
) -> dict[int, dict[str, float]]:
    """Each page's rendering (median wall ms in process) at every size, best of the measured run and
    ``GROWTH_ROUNDS`` more runs that alternate the sizes: on a shared machine whose speed moves by 2-3x
    within a run, one measurement per size taken minutes apart says more about the machine than the data."""
    best = {t.size: {r["name"]: r["wall_ms"] for r in results[(t.backend, t.size)][1:]} for t in targets}
    for _ in range(GROWTH_ROUNDS):
        for target in targets:
            for page in in_process(target, "--rendered")["pages"]:
                best[target.size][page["name"]] = min(best[target.size][page["name"]], page["wall_ms"])
    return best


def growth(backend: str, best: dict[int, dict[str, float]]) -> str:
    small, large = best[min(best)], best[max(best)]
    lines = [
        f"\n{backend}: rendering a page (wall ms in process, best of {GROWTH_ROUNDS + 1} alternated runs), "
        f"{min(best):,} -> {max(best):,} requests"
    ]
    for name, a in small.items():
        b = large[name]
        lines.append(f"{name:34} {a:7.1f} -> {b:7.1f}  ({b / a - 1:+.0%})")
    return "\n".join(lines)


def main() -> None:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install wrk (make bench installs it)")
    started = time.monotonic()
    results: dict[tuple[str, int], list[dict]] = {}
    report: list[str] = []
    grown: list[str] = []
    for backend in BACKENDS:
        postgres = Postgres() if backend == "postgresql" else None
        targets: list[Target] = []
        try:
            smaller = None
            for size in sorted(SIZES):
                instance = WORK / f"{backend}-{size}"
                if postgres:
                    target = Target(backend, size, postgres.url(size), instance)
                    if smaller is None:
                        postgres.ensure(target)
                    build(target, smaller, postgres.copy)
                    postgres.analyse(target)
                else:
                    target = Target(backend, size, f"sqlite:///{instance}/portal.sqlite3", instance)
                    build(target, smaller, copy_sqlite)
                smaller = target
                if os.environ.get("BENCH_BUILD_ONLY"):
                    continue
                targets.append(target)
                results[(backend, size)], people = measure(target)
                report.append(table(target, results[(backend, size)]))
                print(report[-1], flush=True)
                report.append(searches(target))
                print(report[-1], flush=True)
                if postgres and size == min(SIZES):
                    page = next(r for r in results[(backend, size)] if r["name"] == "request workspace")
                    report.append(scale_out(target, page, people[page["who"]], postgres))
                    print(report[-1], flush=True)
            if len(targets) > 1:
                grown.append(growth(backend, renderings(targets, results)))
        finally:
            if postgres:
                postgres.stop()
    print("\n".join(report))
    print("\n".join(grown))
    print(f"\nmake bench took {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
