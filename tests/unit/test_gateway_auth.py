"""Token rules, login redirects and the language of the agent pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.gateway.auth import bearer_token, hash_token, new_token, safe_next, touch_due
from services.gateway.i18n import language, translator

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer  abc ", "abc"),
        ("Basic abc", None),
        ("Bearer", None),
        ("Bearer a b", None),
        ("", None),
        (None, None),
    ],
)
def test_bearer_token(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


def test_new_tokens_are_long_random_and_hashed_as_hex() -> None:
    a, b = new_token(), new_token()
    assert a != b and len(a) >= 40
    assert len(hash_token(a)) == 64 and hash_token(a) == hash_token(a) != hash_token(b)


def test_last_use_is_recorded_at_most_every_few_minutes() -> None:
    assert touch_due(None, NOW)
    assert not touch_due(NOW - timedelta(minutes=1), NOW)
    assert touch_due(NOW - timedelta(minutes=5), NOW)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/cases/10023?x=1", "/cases/10023?x=1"),
        (None, "/cases"),
        ("https://evil.example/", "/cases"),
        ("//evil.example/", "/cases"),
        ("/\\evil.example", "/cases"),
        ("/cases\r\nSet-Cookie: x", "/cases"),
    ],
)
def test_login_only_redirects_to_this_site(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        (None, "nb"),
        ("", "nb"),
        ("en-US,en;q=0.9", "en"),
        ("nb-NO,nb;q=0.9,en;q=0.8", "nb"),
        ("nn,en;q=0.5", "nb"),
        ("de,en;q=0.7,nb;q=0.3", "en"),
        ("en;q=0.2,no;q=0.8", "nb"),
        ("fr", "nb"),
        ("en;q=0", "nb"),
        ("en;q=bogus,sv", "nb"),
    ],
)
def test_language_follows_accept_language(header: str | None, lang: str) -> None:
    assert language(header) == lang


def test_translator_falls_back_to_the_key() -> None:
    assert translator("en")("cases") == "Cases"
    assert translator("nb")("cases") == "Saker"
    assert translator("nb")("status.open") == "åpen"
    assert translator("nb")("status.escalated") == "escalated"
