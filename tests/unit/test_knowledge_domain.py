"""Knowledge rules: HTML made safe and searchable, the FAQ selection, access hooks, cursors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.cases.knowledge.domain import (
    InvalidInput,
    KbSelection,
    KbStatus,
    Visibility,
    decode_cursor,
    faq_selection,
    html_to_text,
    kb_visibilities_for,
    normalise_tags,
    publish_refusal,
    sanitise,
    text_to_html,
)

# ---- HTML ----


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [
        ("<p>Hei<script>alert(1)</script></p>", "<p>Hei</p>"),
        ("<p onclick='steal()'>Trykk</p>", "<p>Trykk</p>"),
        ("<style>p{display:none}</style><p>Synlig</p>", "<p>Synlig</p>"),
        ('<a href="javascript:alert(1)">lenke</a>', '<a rel="noopener noreferrer">lenke</a>'),
        ('<a href="/admin">relativ</a>', '<a rel="noopener noreferrer">relativ</a>'),
        ('<img src="http://sporing.no/p.gif" alt="x">', '<img alt="x">'),
        ('<img src="data:image/png;base64,AAAA">', "<img>"),
        ('<iframe src="https://ondsinnet.no"></iframe><p>ok</p>', "<p>ok</p>"),
        ("<form><input name=pw></form>", ""),
        ('<svg onload="x()"><circle/></svg>', ""),
    ],
)
def test_sanitise_removes_everything_active(dirty: str, clean: str) -> None:
    assert sanitise(dirty) == clean


def test_sanitise_keeps_formatting_safe_links_and_https_images() -> None:
    html = (
        '<h2>Skriver</h2><p>Se <a href="https://hjelp.kommune.no/skriver">veiledningen</a> '
        'eller ring <a href="tel:+4712345678">oss</a>.</p><ul><li><strong>Slå av</strong></li></ul>'
        '<img src="https://hjelp.kommune.no/bilde.png" alt="skjermbilde">'
    )
    out = sanitise(html)
    assert '<a href="https://hjelp.kommune.no/skriver" rel="noopener noreferrer">veiledningen</a>' in out
    assert '<a href="tel:+4712345678" rel="noopener noreferrer">oss</a>' in out
    assert "<h2>Skriver</h2>" in out and "<li><strong>Slå av</strong></li>" in out
    assert '<img src="https://hjelp.kommune.no/bilde.png" alt="skjermbilde">' in out


def test_sanitise_is_stable() -> None:
    once = sanitise('<p>a <b>b</b> <a href="https://x.no">c</a><script>d</script></p>')
    assert sanitise(once) == once


def test_deeply_nested_markup_becomes_text() -> None:
    out = sanitise("<div>" * 10_000 + "dypt")
    assert out.startswith("<pre>") and "dypt" in out


def test_text_of_html_has_a_line_per_block_and_no_markup() -> None:
    html = "<h2>Passord</h2><p>Gå til <b>Min side</b>&nbsp;og velg:</p><ul><li>Bytt</li><li>Lagre &amp; lukk</li></ul>"
    assert html_to_text(html) == "Passord\nGå til Min side og velg:\n- Bytt\n- Lagre & lukk"


def test_plain_text_becomes_escaped_paragraphs() -> None:
    html = text_to_html("Hei Kari,\n\nStart <maskinen> på nytt\nog prøv igjen.\n\n\nHilsen Ola")
    assert html == "<p>Hei Kari,</p><p>Start &lt;maskinen&gt; på nytt<br>og prøv igjen.</p><p>Hilsen Ola</p>"
    assert sanitise(html) == html
    assert html_to_text(html) == "Hei Kari,\nStart <maskinen> på nytt\nog prøv igjen.\nHilsen Ola"


# ---- KB articles and the FAQ ----


@dataclass
class Fact:
    status: str = "published"
    visibility: str = "public"
    lang: str = "nb"
    category: str | None = "Skriver"
    title: str = "Skriveren skriver ikke"
    body_text: str = "Slå av og på"
    tags: list[str] = field(default_factory=list)


@pytest.mark.parametrize("status", list(KbStatus))
@pytest.mark.parametrize("visibility", list(Visibility))
def test_faq_selects_published_public_articles_only(status: KbStatus, visibility: Visibility) -> None:
    shown = faq_selection(lang=None, category=None).admits(Fact(status=status, visibility=visibility))
    assert shown == (status is KbStatus.PUBLISHED and visibility is Visibility.PUBLIC)


def test_faq_filters_by_language_and_category() -> None:
    selection = faq_selection(lang="nb", category="Skriver")
    assert selection.admits(Fact())
    assert not selection.admits(Fact(lang="en"))
    assert not selection.admits(Fact(category="Passord"))
    assert not selection.admits(Fact(category=None))
    assert faq_selection(lang=None, category=None).admits(Fact(lang="en", category=None))


def test_selection_by_tag_and_text() -> None:
    every = frozenset(Visibility)
    assert KbSelection(visibilities=every, tag=" VPN ").admits(Fact(tags=["vpn", "nett"]))
    assert not KbSelection(visibilities=every, tag="vpn").admits(Fact(tags=["nett"]))
    assert KbSelection(visibilities=every, text="AV OG").admits(Fact())
    assert not KbSelection(visibilities=every, text="passord").admits(Fact())


def test_customers_see_public_articles_and_staff_all() -> None:
    assert kb_visibilities_for("customer") == {Visibility.PUBLIC}
    for role in (None, "agent", "team_lead", "admin"):
        assert kb_visibilities_for(role) == {Visibility.PUBLIC, Visibility.INTERNAL}
    customer = KbSelection(visibilities=frozenset(kb_visibilities_for("customer")))
    assert not customer.admits(Fact(visibility="internal", status="published"))


def test_tags_are_normalised_and_checked() -> None:
    assert normalise_tags([" VPN ", "vpn", "Hjemme  kontor"]) == ["vpn", "hjemme kontor"]
    with pytest.raises(ValueError):
        normalise_tags(["  "])
    with pytest.raises(ValueError):
        normalise_tags(["x" * 61])


def test_an_article_needs_title_and_text_to_be_published() -> None:
    assert publish_refusal(title="Tittel", body_text="Tekst") is None
    assert publish_refusal(title="Tittel", body_text=" \n") == "an article without text cannot be published"


# ---- cursors ----


def test_cursor_round_trip_keeps_types_and_time_zone() -> None:
    from services.cases.knowledge.domain import encode_cursor

    at = datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    assert decode_cursor(encode_cursor([at, "abc"]), (datetime, str)) == [at, "abc"]
    assert decode_cursor(encode_cursor([at, "abc"]), (datetime, str))[0] == at.astimezone(UTC)


@pytest.mark.parametrize(
    "cursor", ["", "not base64!", "bnVsbA", "WyJhIl0", "WzFd", "WyIyMDI2LTAxLTAxVDAwOjAwIiwgIngiXQ"]
)
def test_a_cursor_not_made_by_us_is_invalid_input(cursor: str) -> None:
    # null; ["a"] (one value for two); [1]; a naive datetime
    with pytest.raises(InvalidInput) as caught:
        decode_cursor(cursor, (datetime, str))
    assert caught.value.field == "cursor"
