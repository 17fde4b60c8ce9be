"""Work handed to the background leaves when its use case commits — not when a savepoint inside it is
released — and never for what was rolled back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from portal.extensions import db
from portal.services import background
from portal.services.unit_of_work import use_case


@pytest.fixture
def handed(app: Flask) -> Iterator[list[str]]:
    """What reached the queue's hand-over (the app's own is put back after)."""
    sent: list[str] = []
    saved = app.extensions.get(background.EXTENSION)
    app.extensions[background.EXTENSION] = lambda job, *args: sent.append(job)
    yield sent
    app.extensions[background.EXTENSION] = saved


def test_work_leaves_at_the_commit_not_at_a_savepoint(handed):
    seen_inside: list[list[str]] = []

    @use_case
    def act() -> None:
        with db.session.begin_nested():
            background.enqueue("inside_savepoint")
        seen_inside.append(list(handed))
        background.enqueue("after_savepoint")

    act()
    assert seen_inside == [[]]
    assert handed == ["inside_savepoint", "after_savepoint"]


def test_work_of_a_rolled_back_savepoint_or_use_case_goes_with_it(handed):
    @use_case
    def partly() -> None:
        background.enqueue("kept")
        try:
            with db.session.begin_nested():
                background.enqueue("dropped")
                with db.session.begin_nested():
                    background.enqueue("dropped_too")
                raise RuntimeError("refused")
        except RuntimeError:
            pass

    partly()
    assert handed == ["kept"]

    @use_case
    def fails() -> None:
        background.enqueue("never")
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        fails()
    assert handed == ["kept"]
