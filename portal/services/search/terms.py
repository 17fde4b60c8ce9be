"""Index terms: how text becomes what the full-text index holds, and a query what it looks up.

Chinese (and Japanese, Korean) is written without spaces, and its words are one to four characters long, so
the index holds **character pairs** (二元组, as Lucene's CJK analyser does) rather than words: 打印机故障
→ 打印 印机 机故 故障, plus the last character of each run (障). Any run of two or more characters is found
by the pairs it is made of; one character by the pairs it starts and the run end it is — so 网, 维修 and
打印机 are all found from the index, which a trigram index cannot do for one or two characters. Other
scripts are indexed by words, and a query word matches the words it begins (``print`` finds printer).

Both databases read the same terms (an FTS5 table of space-separated terms on SQLite, a tsvector of them on
PostgreSQL), so a query finds the same entries on either, whatever the database's locale. Everything that
is not a letter or a digit separates terms and is never an operator: ``%``, ``_``, quotes, ``*``, ``AND``,
``NEAR`` and ``-`` in a query are just text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Han (and its compatibility forms), kana, bopomofo and Hangul: letters to both databases' tokenisers.
_CJK = (
    "\u3041-\u3096\u30a1-\u30fa\u3105-\u312f\u31a0-\u31bf\u31f0-\u31ff"
    "\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
)
_RUNS = re.compile(rf"([{_CJK}]+)|([^\W_{_CJK}]+)")
_LONGEST_WORD = 40
_MOST_TERMS = 12


def normal(text: str) -> str:
    """Full-width forms as their usual ones (ＡＢＣ１２ → abc12) and case folded."""
    return unicodedata.normalize("NFKC", text).casefold()


def runs(text: str) -> list[str]:
    """The runs of CJK characters and the words of ``text``, normalised, in order."""
    return [cjk or word for cjk, word in _RUNS.findall(normal(text))]


def _is_cjk(run: str) -> bool:
    return bool(re.match(rf"[{_CJK}]", run))


def document_terms(*texts: str) -> str:
    """What the index holds for these texts: each term once, separated by spaces."""
    terms: dict[str, None] = {}
    for text in texts:
        for run in runs(text):
            if _is_cjk(run):
                for i in range(len(run) - 1):
                    terms[run[i : i + 2]] = None
                terms[run[-1]] = None
            else:
                terms[run[:_LONGEST_WORD]] = None
    return " ".join(terms)


@dataclass(frozen=True)
class Term:
    text: str
    prefix: bool  # matches every term it begins


def query_terms(query: str) -> list[Term]:
    """What a query looks up; an entry matches when it holds every one (an empty list finds nothing)."""
    found: dict[Term, None] = {}
    for run in runs(query):
        if _is_cjk(run):
            if len(run) == 1:
                found[Term(run, prefix=True)] = None
            for i in range(len(run) - 1):
                found[Term(run[i : i + 2], prefix=False)] = None
        else:
            found[Term(run[:_LONGEST_WORD], prefix=True)] = None
    return list(found)[:_MOST_TERMS]


def fts5_query(terms: list[Term]) -> str:
    """The terms as an FTS5 MATCH expression: each one a quoted string (never an operator)."""
    return " AND ".join(f'"{t.text}"' + ("*" if t.prefix else "") for t in terms)


def tsquery(terms: list[Term]) -> str:
    """The terms as PostgreSQL tsquery input: each one a quoted lexeme (never an operator)."""
    return " & ".join(f"'{t.text}'" + (":*" if t.prefix else "") for t in terms)
