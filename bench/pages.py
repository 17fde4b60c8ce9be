"""The busy pages in process, on a benchmark database: server CPU time (median), SQL statements and HTML bytes
per page, for each person who uses them — rendered, and served again from the page cache.

``python bench/pages.py DATABASE_URL [--json] [--profile NAME [--cached]]``: ``--json`` prints the figures
and each page's path and person for bench/run.py; ``--profile`` profiles the named page with pyinstrument
instead (its rendering, or with ``--cached`` its cached answer). Nothing here is asserted."""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LEAD, MANAGER = "aftersales@portal.example", "manager@portal.example"
STAFF_PASSWORD = "demo-Portal-2026"
CUSTOMER_PASSWORD = "bench-Portal-2026"


def bench_customer() -> str:
    """The administrator of the first benchmark account (seed-bench numbers them after the demo's)."""
    from sqlalchemy import select

    from portal.extensions import db
    from portal.models import User

    return db.session.scalar(
        select(User.email).where(User.email.like("bench%.0@bench.example")).order_by(User.id).limit(1)
    )


def pages(app, client_for) -> list[tuple[str, str, object, dict[str, str]]]:  # noqa: ANN001
    """(name, path, client, headers) of every page measured; paths are found as a person finds them."""
    lead = client_for(LEAD, STAFF_PASSWORD)
    manager = client_for(MANAGER, STAFF_PASSWORD)
    with app.app_context():
        email = bench_customer()
    customer = client_for(email, CUSTOMER_PASSWORD)
    filtered = "/staff/queue?queue=all_open&category=after_sale&sort=oldest"
    page = lead.get(filtered).get_data(as_text=True)
    request_id = re.search(r'href="/staff/requests/(\d+)"', page).group(1)
    deep = filtered
    for _ in range(39):
        found = re.search(r'href="(/staff/queue\?[^"]*after=[^"]+)"', lead.get(deep).get_data(as_text=True))
        deep = found.group(1).replace("&amp;", "&")
    mine = customer.get("/my/requests").get_data(as_text=True)
    own_id = re.search(r'href="/my/requests/(\d+)"', mine).group(1)
    fragment = {"HX-Request": "true"}
    people = {"lead": lead, "manager": manager, "customer": customer}
    pages.people = {"lead": LEAD, "manager": MANAGER, "customer": email}  # type: ignore[attr-defined]
    table = [
        ("staff queue, filtered, page 1", filtered, "lead", {}),
        ("staff queue, filtered, page 40", deep, "lead", {}),
        ("staff queue, htmx fragment", filtered, "lead", fragment),
        ("staff queue, lead's all open", "/staff/queue", "lead", {}),
        ("staff queue, manager's all open", "/staff/queue", "manager", {}),
        ("request workspace", f"/staff/requests/{request_id}", "lead", {}),
        ("customer dashboard", "/my/", "customer", {}),
        ("customer request list", "/my/requests", "customer", {}),
        ("customer request page", f"/my/requests/{own_id}", "customer", {}),
        ("manager KPI dashboard", "/manager/", "manager", {}),
    ]
    return [(name, path, people[who], headers, who) for name, path, who, headers in table]


def main() -> None:
    url = sys.argv[1]
    profile = sys.argv[sys.argv.index("--profile") + 1] if "--profile" in sys.argv else None
    runs = int(os.environ.get("BENCH_RUNS", "15"))
    work = Path(os.environ.get("BENCH_DIR", ROOT / "instance" / "bench"))
    os.environ.setdefault("PORTAL_HUEY_FILE", str(work / "huey.sqlite3"))
    from sqlalchemy import event

    from portal import create_app
    from portal.extensions import db

    app = create_app(
        {
            "SECRET_KEY": "bench-only-secret",
            "DATABASE_URL": url,
            "UPLOAD_FOLDER": str(work / "uploads"),
            "RATELIMIT_ENABLED": False,
            "WTF_CSRF_ENABLED": False,
        }
    )

    def client_for(email: str, password: str):  # noqa: ANN202
        client = app.test_client()
        answer = client.post("/login", data={"email": email, "password": password})
        assert answer.status_code in (302, 303), f"{email} cannot sign in"
        return client

    with app.app_context():
        engine = db.engine
    statements = [0]

    @event.listens_for(engine, "before_cursor_execute")
    def count(*_args: object) -> None:
        statements[0] += 1

    measured = pages(app, client_for)
    if profile:
        from pyinstrument import Profiler

        name, path, client, headers, _who = next(m for m in measured if m[0] == profile)
        app.config["PAGE_CACHE"] = "--cached" in sys.argv  # the rendering, unless asked for the cached path
        client.get(path, headers=headers)  # templates compiled, and with --cached the page kept
        profiler = Profiler(interval=0.0005)
        profiler.start()
        for _ in range(runs):
            client.get(path, headers=headers)
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=bool(os.environ.get("BENCH_ALL"))))
        return

    def timed(client, path: str, headers: dict[str, str]) -> tuple[float, float, int, int]:  # noqa: ANN001
        cpu, wall = [], []
        for _ in range(runs):
            statements[0] = 0
            started, clock = time.process_time(), time.perf_counter()
            answer = client.get(path, headers=headers)
            # CPU time is this process's (the neighbours of a shared machine do not count, nor does the
            # PostgreSQL server's work); wall time includes the database's.
            cpu.append(time.process_time() - started)
            wall.append(time.perf_counter() - clock)
            assert answer.status_code == 200, f"{path} answered {answer.status_code}"
        median = statistics.median
        return (
            round(median(cpu) * 1000, 1),
            round(median(wall) * 1000, 1),
            statements[0],
            len(answer.get_data()),
        )

    records = []
    for name, path, client, headers, who in measured:
        app.config["PAGE_CACHE"] = False  # rendered each time
        ms, wall_ms, sql, size = timed(client, path, headers)
        cached_ms, cached_sql = None, None
        if "--rendered" not in sys.argv:  # only the rendering (make bench's rounds for the growth table)
            app.config["PAGE_CACHE"] = True  # served again (the first view keeps it)
            cached_ms, _wall, cached_sql, _ = timed(client, path, headers)
        records.append(
            {
                "name": name,
                "path": path,
                "who": who,
                "headers": headers,
                "ms": ms,
                "wall_ms": wall_ms,
                "statements": sql,
                "bytes": size,
                "cached_ms": cached_ms,
                "cached_statements": cached_sql,
            }
        )
    if "--json" in sys.argv:
        print(json.dumps({"people": pages.people, "pages": records}))  # type: ignore[attr-defined]
        return
    print(f"{'page':34} {'CPU ms':>7} {'wall ms':>8} {'SQL':>4} {'KB':>6} {'kept ms':>8} {'SQL':>4}")
    for r in records:
        print(
            f"{r['name']:34} {r['ms']:7.1f} {r['wall_ms']:8.1f} {r['statements']:4d} {r['bytes'] / 1024:6.1f}"
            f" {r['cached_ms'] or 0:8.1f} {r['cached_statements'] or 0:4d}"
        )


if __name__ == "__main__":
    main()
