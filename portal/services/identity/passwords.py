"""The one rule for a password being set — changed, reset, chosen from an invitation, or given to
``flask create-user``: at least ``MIN_LENGTH`` characters, and not guessable. Guessability is zxcvbn's
estimate (Dropbox's estimator: common passwords, words, keyboard rows, sequences, repeats, dates, and the
person's own name and address); a password must reach score 3, "safely unguessable" (about 10⁸ guesses).
The refusal says why, in the reader's language."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from zxcvbn import zxcvbn

from portal.services.errors import InvalidInput

MIN_LENGTH = 10
MIN_SCORE = 3

_REASONS = {
    "dictionary": _l("it is a common password, or a word with small changes"),
    "own": _l("it contains your name or email address"),
    "spatial": _l("it is a row of keys on the keyboard"),
    "repeat": _l("it repeats the same characters"),
    "sequence": _l("it is a sequence such as 1234 or abcd"),
    "date": _l("it is a date or a year"),
}


def check(password: str, field: str, *, user_inputs: Iterable[str] = ()) -> None:
    """Raise ``InvalidInput`` on ``field`` if ``password`` may not be set."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(field, str(_l("The new password needs at least %(n)d characters.", n=MIN_LENGTH)))
    own = []
    for value in user_inputs:
        words = value.lower().replace("@", " ").replace(".", " ").replace("-", " ").replace("_", " ").split()
        own += [value.lower(), "".join(words), *words]
    result = zxcvbn(password[:100], user_inputs=own)
    if result["score"] >= MIN_SCORE:
        return
    weakest = max(
        result["sequence"], key=lambda match: len(match["token"]), default={"pattern": "dictionary"}
    )
    pattern = weakest["pattern"]
    if pattern == "dictionary" and weakest.get("dictionary_name") == "user_inputs":
        pattern = "own"
    elif pattern == "regex":
        pattern = "date"
    reason = _REASONS.get(pattern, _REASONS["dictionary"])
    raise InvalidInput(
        field,
        str(
            _l(
                "This password is too easy to guess: %(reason)s. Add a few words only you would think of.",
                reason=reason,
            )
        ),
    )
