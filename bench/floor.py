"""The floor: a minimal Flask page that runs one indexed query on the same database. No page of the portal
can be faster than this on the same machine, so the portal's pages are reported as a share of it."""

from __future__ import annotations

import os

from flask import Flask
from sqlalchemy import create_engine, text

app = Flask(__name__)
engine = create_engine(os.environ["BENCH_DATABASE_URL"])


@app.get("/floor/<int:request_id>")
def floor(request_id: int) -> str:
    with engine.connect() as connection:
        reference = connection.execute(
            text("SELECT reference FROM service_requests WHERE id = :id"), {"id": request_id}
        ).scalar()
    return f"<!doctype html><title>floor</title><p>{reference}</p>"
