"""`make bench`, part two: the finance summary PDF, the ZIP of every account, and the KPI dashboard, timed in
process on the SQLite benchmark database with 100,000 requests that bench/run.py builds (the demo company
plus 200 accounts). Prints medians; nothing here is asserted."""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = Path(os.environ.get("BENCH_DIR", ROOT / "instance" / "bench")) / "sqlite-100000"
sys.path.insert(0, str(ROOT))


def timed(function, runs: int) -> tuple[float, object]:  # noqa: ANN001
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    os.environ.setdefault("PORTAL_HUEY_FILE", str(WORK / "huey.sqlite3"))
    from io import BytesIO

    from pypdf import PdfReader
    from sqlalchemy import select

    from portal import create_app, uploads
    from portal.extensions import db
    from portal.models import Account, ExportJob, User
    from portal.services.reporting import exports, kpi, summaries

    app = create_app(
        {
            "SECRET_KEY": "bench-only-secret",
            "DATABASE_URL": f"sqlite:///{WORK}/portal.sqlite3",
            "UPLOAD_FOLDER": str(WORK / "uploads"),
            "RATELIMIT_ENABLED": False,
            "PAGE_CACHE": False,  # the dashboard's own work, not a page served again
        }
    )
    with app.app_context(), app.test_request_context():
        huaxin = db.session.scalar(select(Account).where(Account.name == "华信银行"))
        quarter = (date(2026, 7, 1), date(2026, 9, 30))
        gather, summary = timed(lambda: summaries.gather(huaxin, *quarter, "zh"), 5)
        render, pdf = timed(lambda: summaries.render_pdf(summary), 5)
        pages = len(PdfReader(BytesIO(pdf)).pages)
        print(
            f"summary PDF (华信银行, a quarter, {pages} pages): figures {gather * 1000:.0f} ms + render {render * 1000:.0f} ms"
        )

        scope = kpi.Scope(start=date(2026, 1, 1), end=date(2026, 11, 30))
        assess, _ = timed(lambda: kpi.assess(scope), 5)
        trend, _ = timed(lambda: kpi.monthly_trend(scope), 3)
        print(
            f"KPI assessment, whole company, 11 months: {assess * 1000:.0f} ms; six-month trend {trend * 1000:.0f} ms"
        )

    client = app.test_client()
    with app.app_context():
        manager = db.session.scalar(select(User).where(User.email == "manager@portal.example"))
    response = client.post("/login", data={"email": manager.email, "password": "demo-Portal-2026"})
    if response.status_code == 400:  # CSRF on: fetch a token first
        import re

        token = re.search(
            r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"',
            client.get("/login").get_data(as_text=True),
        ).group(1)
        client.post(
            "/login", data={"email": manager.email, "password": "demo-Portal-2026", "csrf_token": token}
        )
    page, _ = timed(lambda: client.get("/manager/?period=this_year"), 5)
    print(
        f"KPI dashboard page (server time, this year, {os.environ.get('BENCH_REQUESTS', '100000')} requests): {page * 1000:.0f} ms"
    )

    if os.environ.get("BENCH_ZIP", "1") != "0":
        with app.app_context(), app.test_request_context():
            finance = db.session.scalar(select(User).where(User.email == "finance@portal.example"))
            accounts = db.session.query(Account).filter(Account.active).count()
            job = exports.start_zip(finance, *quarter)
            started = time.perf_counter()
            exports.build_zip(job.id, uploads.file_store())
            took = time.perf_counter() - started
            done = db.session.get(ExportJob, job.id)
            print(
                f"ZIP of all {accounts} accounts' quarter summaries: {took:.0f} s ({took / max(done.done, 1) * 1000:.0f} ms per account)"
            )


if __name__ == "__main__":
    main()
