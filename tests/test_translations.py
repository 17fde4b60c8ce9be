"""Everything built speaks both languages: every message in the code and templates has a Chinese text."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]


def test_every_message_has_a_chinese_translation(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "--ignore-dirs=.*",  # the default also skips "_*" folders such as templates/_macros
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as f:
        wanted = {m.id for m in read_po(f) if m.id}
    with (ROOT / "portal/translations/zh/LC_MESSAGES/messages.po").open("rb") as f:
        translated = {m.id for m in read_po(f) if m.id and m.string and "fuzzy" not in m.flags}
    assert {"Sign in", "Overdue %(time)s", "Work queues"} <= wanted  # the extraction really read the sources
    missing = sorted(str(m) for m in wanted - translated)
    assert missing == [], "run `make extract-messages` and translate these in messages.po"
