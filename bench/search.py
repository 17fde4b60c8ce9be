"""`make bench`, search: the one search box's service in process, on a benchmark database (bench/run.py gives
its URL), for Chinese and English queries of 1 to 6 characters, as the after-sales lead, the manager (who
sees every request) and a benchmark customer. Prints p50 and p99 wall milliseconds of each and how many
requests it showed; with --json one JSON line for run.py. Nothing here is asserted."""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

# 1 to 6 characters each, common and rare in the benchmark's texts (bench seed: portal/demo/bench.py).
QUERIES = ["网", "故障", "打印机", "存储控制", "批处理服务器", "升级固件", "p", "db", "fir", "slow", "router", "firmware"]
RUNS = int(os.environ.get("BENCH_SEARCH_RUNS", "25"))


def main() -> None:
    url = sys.argv[1]
    work = Path(os.environ.get("BENCH_DIR", ROOT / "instance" / "bench"))
    os.environ.setdefault("PORTAL_HUEY_FILE", str(work / "huey.sqlite3"))
    from pages import LEAD, MANAGER, bench_customer
    from sqlalchemy import select

    from portal import create_app
    from portal.extensions import db
    from portal.models import User
    from portal.services.search import finding

    app = create_app({"SECRET_KEY": "bench-only-secret", "DATABASE_URL": url, "PAGE_CACHE": False})
    rows = []
    with app.app_context():
        people = {"lead": LEAD, "manager": MANAGER, "customer": bench_customer()}
        for who, email in people.items():
            user = db.session.scalar(select(User).where(User.email == email))
            for query in QUERIES:
                finding.search(user, query)  # warm: statements compiled, pages of the index read
                times = []
                for _ in range(RUNS):
                    started = time.perf_counter()
                    results = finding.search(user, query)
                    times.append((time.perf_counter() - started) * 1000)
                    db.session.rollback()  # each search in a fresh transaction, as each page is
                shown = len(results.sections.get("requests", []))
                p99 = statistics.quantiles(times, n=100)[98] if len(times) > 1 else times[0]
                rows.append(
                    {
                        "who": who,
                        "query": query,
                        "p50": round(statistics.median(times), 1),
                        "p99": round(p99, 1),
                        "shown": shown,
                        "more": "requests" in results.more,
                    }
                )
    if "--json" in sys.argv:
        print(json.dumps(rows))
        return
    print(table(rows))


def table(rows: list[dict]) -> str:
    lines = [f"{'who':9} {'query':14} {'p50 ms':>7} {'p99 ms':>7} {'requests shown':>15}"]
    for r in rows:
        shown = f"{r['shown']}{'+' if r['more'] else ''}"
        lines.append(f"{r['who']:9} {r['query']:14} {r['p50']:7.1f} {r['p99']:7.1f} {shown:>15}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
