"""wsgi.py under gunicorn: serves the same app, and refuses to start without a secret key."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = str(Path(sys.executable).parent / "gunicorn")


def _env(instance: Path, **extra: str) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PORTAL_INSTANCE_PATH": str(instance)}
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_without_a_secret_key_gunicorn_refuses_to_start(tmp_path):
    result = subprocess.run(
        [GUNICORN, "--bind", f"127.0.0.1:{_free_port()}", "wsgi:app"],
        cwd=ROOT,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "No secret key: set PORTAL_SECRET_KEY" in result.stderr


def test_the_secret_key_can_come_from_the_instance_folder(tmp_path):
    (tmp_path / "config.py").write_text("SECRET_KEY = 'from-the-instance-folder'\n")
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi; print(wsgi.app.secret_key)"],
        cwd=ROOT,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and result.stdout.strip() == "from-the-instance-folder"


def test_gunicorn_serves_the_portal(tmp_path):
    port = _free_port()
    env = _env(tmp_path, PORTAL_SECRET_KEY="gunicorn-test-key")
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "portal", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    server = subprocess.Popen(
        [GUNICORN, "--workers", "2", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as response:
                    body = response.read().decode()
                    headers = response.headers
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        assert "大客户服务门户" in body
        assert "script-src 'self'" in headers["Content-Security-Policy"]
    finally:
        server.terminate()
        server.wait(timeout=20)
