"""The busy pages in process, on a benchmark database: server CPU time (median), SQL statements and HTML bytes per
page, for each person who uses them. ``python bench/pages.py DATABASE_URL [--profile NAME]`` — with
``--profile`` the named page is profiled with pyinstrument instead. Nothing here is asserted."""

from __future__ import annotations

import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

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
    lead = client_for("aftersales@portal.example", STAFF_PASSWORD)
    manager = client_for("manager@portal.example", STAFF_PASSWORD)
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
    return [
        ("staff queue, filtered, page 1", filtered, lead, {}),
        ("staff queue, filtered, page 40", deep, lead, {}),
        ("staff queue, htmx fragment", filtered, lead, fragment),
        ("staff queue, lead's all open", "/staff/queue", lead, {}),
        ("staff queue, manager's all open", "/staff/queue", manager, {}),
        ("request workspace", f"/staff/requests/{request_id}", lead, {}),
        ("customer dashboard", "/my/", customer, {}),
        ("customer request list", "/my/requests", customer, {}),
        ("customer request page", f"/my/requests/{own_id}", customer, {}),
        ("manager KPI dashboard", "/manager/", manager, {}),
    ]


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

        name, path, client, headers = next(m for m in measured if m[0] == profile)
        profiler = Profiler(interval=0.0005)
        profiler.start()
        for _ in range(runs):
            client.get(path, headers=headers)
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=False))
        return
    print(f"{'page':34} {'ms':>7} {'SQL':>4} {'KB':>6}")
    for name, path, client, headers in measured:
        times = []
        for _ in range(runs):
            statements[0] = 0
            started = time.process_time()  # CPU time: this machine's neighbours do not count
            answer = client.get(path, headers=headers)
            times.append(time.process_time() - started)
            assert answer.status_code == 200, f"{path} answered {answer.status_code}"
        size = len(answer.get_data())
        print(f"{name:34} {statistics.median(times) * 1000:7.1f} {statements[0]:4d} {size / 1024:6.1f}")


if __name__ == "__main__":
    main()
