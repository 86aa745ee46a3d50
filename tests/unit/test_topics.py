from __future__ import annotations

import pytest

from shared.bus.topics import topic_matches


@pytest.mark.parametrize(
    ("pattern", "routing_key"),
    [
        ("cases.case_created.v1", "cases.case_created.v1"),
        ("cases.*.v1", "cases.case_created.v1"),
        ("*.*.*", "a.b.c"),
        ("cases.#", "cases.case_created.v1"),
        ("cases.#", "cases"),
        ("#", "cases.case_created.v1"),
        ("#", ""),
        ("#.v1", "v1"),
        ("#.v1", "cases.case_created.v1"),
        ("cases.#.v1", "cases.v1"),
        ("cases.#.v1", "cases.a.b.c.v1"),
        ("#.case_created.#", "cases.case_created.v1"),
        ("#.#", "a"),
        ("*.#", "a"),
        ("#.*", "a.b.c"),
        ("a.*.c", "a..c"),
        ("", ""),
    ],
)
def test_pattern_matches(pattern: str, routing_key: str) -> None:
    assert topic_matches(pattern, routing_key)


@pytest.mark.parametrize(
    ("pattern", "routing_key"),
    [
        ("cases.case_created.v1", "cases.case_created.v2"),
        ("cases.*.v1", "cases.case.created.v1"),
        ("cases.*.v1", "cases.v1"),
        ("cases.*", "cases"),
        ("*", ""),
        ("*", "a.b"),
        ("cases.#", "intake.cases"),
        ("#.v1", "cases.case_created.v1.x"),
        ("cases.#.v1", "cases.a.v2"),
        ("*.#", ""),
        ("a.b", "a"),
        ("a", "a.b"),
        ("", "a"),
        ("cases.*", "casesx.y"),
    ],
)
def test_pattern_does_not_match(pattern: str, routing_key: str) -> None:
    assert not topic_matches(pattern, routing_key)


def test_many_hashes_stay_fast() -> None:
    key = ".".join(["w"] * 60)
    assert not topic_matches("#.#.#.#.#.#.#.#.x", key)
    assert topic_matches("#.#.#.#.#.#.#.#.w", key)
