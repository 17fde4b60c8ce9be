"""The tree keeps its rules: services never import the queue, the queue is built from the app's config (so
``REDIS_URL`` in ``instance/config.py`` moves it to Redis exactly as ``PORTAL_REDIS_URL`` does), no blueprint
registers routes by being imported at the bottom of another module, and blueprints keep their internals."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

PORTAL = Path(__file__).resolve().parent.parent / "portal"
BLUEPRINTS = ("admin", "auth", "customer", "finance", "inbox", "internal", "manager", "survey")


def _imports(path: Path) -> list[tuple[str, list[str], int]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, [alias.name for alias in node.names], node.lineno))
        elif isinstance(node, ast.Import):
            found.extend((alias.name, [], node.lineno) for alias in node.names)
    return found


def test_no_service_imports_the_queue():
    offenders = [
        f"{path.relative_to(PORTAL)}:{line}"
        for path in (PORTAL / "services").rglob("*.py")
        for module, names, line in _imports(path)
        if module == "portal.tasks" or (module == "portal" and "tasks" in names)
    ]
    assert offenders == []


def test_no_blueprint_reaches_into_another():
    """A blueprint's modules import the shared web helpers, never another blueprint's internals."""
    offenders = []
    for blueprint in BLUEPRINTS:
        for path in (PORTAL / blueprint).rglob("*.py"):
            for module, _names, line in _imports(path):
                parts = module.split(".")
                if (
                    len(parts) > 1
                    and parts[0] == "portal"
                    and parts[1] in BLUEPRINTS
                    and parts[1] != blueprint
                ):
                    offenders.append(f"{path.relative_to(PORTAL)}:{line} imports {module}")
    assert offenders == []


def test_no_module_registers_routes_by_being_imported_at_its_bottom():
    offenders = []
    for path in PORTAL.rglob("*.py"):
        tree = ast.parse(path.read_text())
        seen_code = False
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef):
                seen_code = True
            elif seen_code and isinstance(node, ast.ImportFrom) and (node.module or "").startswith("portal."):
                offenders.append(f"{path.relative_to(PORTAL)}:{node.lineno}")
    assert offenders == []


def _queue_built_from(tmp_path: Path, config: str) -> dict:
    """Build the app in a process of its own (the queue is process-wide) from an
    instance folder holding ``config``, and report where its queue and rate limits live."""
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text(
        f"SECRET_KEY = 'k'\nDATABASE_URL = 'sqlite:///{tmp_path}/x.db'\n{config}"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env["PORTAL_INSTANCE_PATH"] = str(instance)
    probe = (
        "import json; from portal import create_app, tasks; app = create_app(); s = tasks.huey.storage; "
        "print(json.dumps({'storage': type(s).__name__, 'file': getattr(s, 'filename', None), "
        "'port': s.conn.connection_pool.connection_kwargs.get('port') "
        "if type(s).__name__ == 'RedisStorage' else None, "
        "'limits': app.config['RATELIMIT_STORAGE_URI']}))"
    )
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "instance": instance}


def test_redis_url_in_the_instance_config_moves_the_queue_and_the_limiter(tmp_path):
    built = _queue_built_from(tmp_path, "REDIS_URL = 'redis://127.0.0.1:6399/3'\n")
    assert built["storage"] == "RedisStorage" and built["port"] == 6399
    assert built["limits"] == "redis://127.0.0.1:6399/3"


def test_without_redis_the_queue_file_lives_in_the_instance_folder(tmp_path):
    built = _queue_built_from(tmp_path, "")
    assert built["storage"] == "SqliteStorage"
    assert Path(built["file"]) == built["instance"] / "huey.sqlite3"
