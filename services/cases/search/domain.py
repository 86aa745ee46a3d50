"""Rules of search, pure: words of a query, FTS5 query text, merging and ordering hits, snippets."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

MAX_QUERY_LENGTH = 200
# How many index matches per table are ranked at most: the cost of a query stays bounded however
# common its words are. Ranking happens on these only.
CANDIDATES = 500
MAX_TERMS = 32
SIMILAR_CASES = 5
SNIPPET_WIDTH = 160
# Shorter words say little about what a case is about (and are mostly stop words).
SIMILAR_MIN_WORD = 3

WORD = re.compile(r"[^\W_]+")


class Kind(StrEnum):
    CASE = "case"
    KB = "kb"
    CUSTOMER = "customer"


@dataclass(frozen=True)
class Query:
    """What to look for: the text as typed (for PostgreSQL's parser) and its words (for FTS5).
    ``any_term``: a document with any of the words matches (similar cases), else all must."""

    text: str
    terms: tuple[str, ...]
    any_term: bool = False


@dataclass(frozen=True)
class Hit:
    """One index match: the row it found (``key``), the part that matched (``source``: an article
    or address; None for the subject, title or name) and its score, higher is better."""

    key: str
    source: str | None
    score: float


@dataclass(frozen=True)
class Ranked:
    key: str
    score: float
    source: str | None


def terms(text: str, *, limit: int = MAX_TERMS, min_length: int = 1) -> tuple[str, ...]:
    """The distinct words of ``text``, lower case, in order; punctuation is never a word."""
    found = dict.fromkeys(w for w in WORD.findall(text.lower()) if len(w) >= min_length)
    return tuple(found)[:limit]


def search_query(text: str) -> Query:
    return Query(text=text, terms=terms(text))


def similar_query(subject: str, body: str) -> Query:
    """A case's subject and first text as a query that matches cases sharing any of its words."""
    words = terms(f"{subject}\n{body}", min_length=SIMILAR_MIN_WORD)
    return Query(text=" ".join(words), terms=words, any_term=True)


def fts5_quote(term: str) -> str:
    """A word as an FTS5 string: whatever it holds is a word to match, never query syntax."""
    return '"' + term.replace('"', '""') + '"'


def fts5_match(query: Query) -> str:
    """FTS5 MATCH text: every word as a prefix (all of them), or any of the words (similar)."""
    if query.any_term:
        return " OR ".join(fts5_quote(t) for t in query.terms)
    return " ".join(fts5_quote(t) + "*" for t in query.terms)


def rank(hits: Iterable[Hit]) -> list[Ranked]:
    """One entry per row, best first: its best title match plus its best text match, so that a
    row matching in both beats one matching in one; the source kept is the best text match."""
    title: dict[str, float] = {}
    text: dict[str, Hit] = {}
    for hit in hits:
        if hit.source is None:
            title[hit.key] = max(title.get(hit.key, 0.0), hit.score)
        elif hit.key not in text or hit.score > text[hit.key].score:
            text[hit.key] = hit
    keys = set(title) | set(text)
    ranked = [
        Ranked(
            key=key,
            score=round(title.get(key, 0.0) + (text[key].score if key in text else 0.0), 6),
            source=text[key].source if key in text else None,
        )
        for key in keys
    ]
    return sorted(ranked, key=lambda r: (-r.score, r.key))


def done_first(ranked: Sequence[Ranked], done: set[str]) -> list[Ranked]:
    """Similar cases: resolved and closed ones (they have a solution) before the others, by score."""
    return sorted(ranked, key=lambda r: (r.key not in done, -r.score, r.key))


def snippet(text: str, words: Sequence[str], *, width: int = SNIPPET_WIDTH) -> str:
    """About ``width`` characters of ``text`` around the first word found, on one line.

    A word is looked for whole, then by shorter prefixes (down to four letters), so that a stem
    found by PostgreSQL ("skriveren" finding "skriver") still centres the snippet."""
    flat = " ".join(text.split())
    lowered = flat.lower()
    at = _first(lowered, words)
    if len(flat) <= width:
        return flat
    start = max(0, min(at - width // 4, len(flat) - width)) if at >= 0 else 0
    piece = flat[start : start + width]
    return ("…" if start > 0 else "") + piece + ("…" if start + width < len(flat) else "")


def _first(lowered: str, words: Sequence[str]) -> int:
    for word in words:
        for size in range(len(word), min(len(word), 4) - 1, -1):
            at = lowered.find(word[:size])
            if at >= 0:
                return at
    return -1
