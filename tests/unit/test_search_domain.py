"""Search rules: words of a query, FTS5 quoting, ranking, similar-case order, snippets."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from services.cases.search import domain, index
from services.cases.search.domain import Hit, Query, Ranked

MIGRATION = Path("services/cases/migrations/versions/417935f52df6_full_text_search.py")
STORED_MIGRATION = Path("services/cases/migrations/versions/5e7a1c9d3b21_stored_search_vectors.py")
FIELDS_MIGRATION = Path("services/cases/migrations/versions/3b9e61f0c2d4_case_fields_in_search.py")


def test_terms_are_lower_case_words_without_punctuation() -> None:
    assert domain.terms('Skriveren "på" NEAR(3. etasje)* & | ! skriveren') == (
        "skriveren",
        "på",
        "near",
        "3",
        "etasje",
    )
    assert domain.terms("\"*&|!()'-:^") == ()
    assert domain.terms("snake_case e-post") == ("snake", "case", "e", "post")
    assert len(domain.terms(" ".join(f"w{i}" for i in range(100)))) == domain.MAX_TERMS


def test_fts5_match_quotes_every_word() -> None:
    assert domain.fts5_quote('a"b') == '"a""b"'
    assert domain.fts5_match(Query("x", ("skriver", "near"))) == '"skriver"* "near"*'
    assert domain.fts5_match(Query("x", ("skriver", "or"), any_term=True)) == '"skriver" OR "or"'


def test_similar_query_skips_short_words() -> None:
    query = domain.similar_query("Skriver på 2. etasje", "Den er i ustand")
    assert query.any_term and query.terms == ("skriver", "etasje", "den", "ustand")


def test_rank_adds_best_title_and_best_text_match() -> None:
    ranked = domain.rank(
        [
            Hit("a", None, 1.0),
            Hit("a", "a1", 0.5),
            Hit("a", "a2", 0.7),
            Hit("b", "b1", 1.5),
            Hit("c", None, 0.2),
        ]
    )
    assert ranked == [Ranked("a", 1.7, "a2"), Ranked("b", 1.5, "b1"), Ranked("c", 0.2, None)]


def test_done_cases_come_first_then_score() -> None:
    ranked = [Ranked("open", 3.0, None), Ranked("closed", 1.0, None), Ranked("resolved", 2.0, None)]
    assert [r.key for r in domain.done_first(ranked, {"closed", "resolved"})] == [
        "resolved",
        "closed",
        "open",
    ]


def test_snippet_centres_on_the_word_or_its_stem() -> None:
    text = "innledning " * 30 + "skriver på tredje etasje virker ikke " + "avslutning " * 30
    piece = domain.snippet(text, ["skriveren"], width=60)
    assert "skriver på tredje" in piece and piece.startswith("…") and piece.endswith("…")
    assert domain.snippet("kort\n tekst", ["x"]) == "kort tekst"
    assert domain.snippet("a" * 300, ["zzz"], width=50) == "a" * 50 + "…"


def load(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_migration_indexes_the_texts_the_queries_search() -> None:
    migration = load(MIGRATION)
    fields = load(FIELDS_MIGRATION)
    # The case's text changed later, when its field values joined the subject.
    expected = {**{name: text for name, _, text in migration.PG_DOCUMENTS}, "case": fields.PG_CASE_DOCUMENT}
    assert expected == index.PG_DOCUMENTS
    stored = load(STORED_MIGRATION).STORED_DOCUMENTS
    assert {name: text for name, (_, text) in stored.items()} == {
        n: index.PG_DOCUMENTS[n] for n in index.STORED
    }
    assert tuple(migration.CONFIGS) == index.CONFIGS == tuple(fields.CONFIGS)
