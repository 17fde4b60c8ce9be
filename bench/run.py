"""`make bench`: the staff queue and the request workspace under load, beside the floor, in one run.

Builds (once, then reuses) a database with the demo company plus 200 accounts and 100,000 requests, serves
the portal and the floor page under gunicorn on loopback, signs in as the after-sales lead, and drives each
page with wrk (16 connections, bounded in time). Prints req/s, p50 and p99 and the ratio to the floor.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
WORK = Path(os.environ.get("BENCH_DIR", ROOT / "instance" / "bench"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "100000"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env() -> dict[str, str]:
    return {
        **os.environ,
        "PORTAL_SECRET_KEY": "bench-only-secret",
        "PORTAL_INSTANCE_PATH": str(WORK),
        "PORTAL_LOGIN_RATE_LIMIT": "1000 per minute",
        "BENCH_DATABASE_URL": f"sqlite:///{WORK}/portal.sqlite3",
    }


def flask(*args: str) -> None:
    subprocess.run([str(VENV_BIN / "flask"), "--app", "portal", *args], cwd=ROOT, env=env(), check=True)


def build_database() -> None:
    marker = WORK / f"built-{REQUESTS}"
    if marker.exists():
        print(f"Reusing the benchmark database in {WORK}")
        flask("db", "upgrade")  # a database built by an older version gets the newer columns
        return
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    started = time.monotonic()
    flask("db", "upgrade")
    flask("seed-demo")
    flask("seed-bench", "--accounts", "200", "--requests", str(REQUESTS))
    marker.write_text("ok")
    print(f"Built the benchmark database in {time.monotonic() - started:.0f} s")


def serve(app: str, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            str(VENV_BIN / "gunicorn"),
            "--workers",
            str(WORKERS),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            app,
        ],
        cwd=ROOT if app.startswith("wsgi") else ROOT / "bench",
        env=env(),
    )


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


def sign_in(base: str) -> tuple[urllib.request.OpenerDirector, str]:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login").read().decode()
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode(
        {"csrf_token": token, "email": "aftersales@portal.example", "password": "demo-Portal-2026"}
    ).encode()
    opener.open(f"{base}/login", data=data).read()
    cookie = next(c.value for c in jar if c.name == "session")
    return opener, cookie


def page_40(opener: urllib.request.OpenerDirector, base: str) -> str:
    url = f"{base}/staff/queue?queue=all_open&category=after_sale&sort=oldest"
    for _ in range(39):
        page = opener.open(url).read().decode()
        found = re.search(r'href="(/staff/queue\?[^"]*after=[^"]+)"', page)
        if not found:
            raise SystemExit("the filtered queue has fewer than 40 pages; load more requests")
        url = base + found.group(1).replace("&amp;", "&")
    return url


def wrk(url: str, cookie: str) -> dict[str, float]:
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{CONNECTIONS}",
            f"-d{SECONDS}s",
            "--latency",
            "-H",
            f"Cookie: session={cookie}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def ms(label: str) -> float:
        value, unit = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        raise SystemExit(f"{url} answered {non_2xx.group(1)} errors under load:\n{out}")
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": ms("50"),
        "p99": ms("99"),
    }


def main() -> None:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install wrk (make bench installs it)")
    build_database()
    portal_port, floor_port = free_port(), free_port()
    servers = [serve("wsgi:app", portal_port), serve("floor:app", floor_port)]
    try:
        portal, floor = f"http://127.0.0.1:{portal_port}", f"http://127.0.0.1:{floor_port}"
        wait_for(f"{portal}/login")
        wait_for(f"{floor}/floor/1")
        opener, cookie = sign_in(portal)
        page = opener.open(f"{portal}/staff/queue?queue=all_open&category=after_sale").read().decode()
        request_id = re.search(r'href="/staff/requests/(\d+)"', page).group(1)
        targets = [
            ("floor: one indexed query", f"{floor}/floor/{request_id}"),
            (
                "queue, filtered, page 1",
                f"{portal}/staff/queue?queue=all_open&category=after_sale&sort=oldest",
            ),
            ("queue, filtered, page 40", page_40(opener, portal)),
            ("request workspace", f"{portal}/staff/requests/{request_id}"),
        ]
        results = [(name, wrk(url, cookie)) for name, url in targets]
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
    floor_rps = results[0][1]["rps"]
    print(
        f"\n{REQUESTS:,} requests · {CONNECTIONS} connections · {SECONDS} s each · gunicorn {WORKERS} workers\n"
    )
    print(f"{'page':28} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'of floor':>9}")
    for name, r in results:
        print(f"{name:28} {r['rps']:8.0f} {r['p50']:8.1f} {r['p99']:8.1f} {r['rps'] / floor_rps:8.0%}")


if __name__ == "__main__":
    main()
