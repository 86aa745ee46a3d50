"""Charsets that lie and header words that are broken: Norwegian text must come out right."""

from __future__ import annotations

import pytest

from services.intake.domain import Parsed, parse_message
from services.intake.domain.charsets import codec_for, decode_bytes, fix_mojibake
from services.intake.domain.headers import decode_words

NORWEGIAN = "Hei, jeg får ikke logget på lønnssystemet. Blåbærsyltetøy – «Øyvind Ærø» €5"


def body_of(charset: str | None, payload: bytes, encoding: str = "8bit") -> str:
    kind = "Content-Type: text/plain" + (f"; charset={charset}" if charset else "")
    raw = f"From: kari@kunde.no\r\n{kind}\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n".encode() + payload
    result = parse_message(raw)
    assert isinstance(result, Parsed), result
    return result.text_body


@pytest.mark.parametrize("charset", ["windows-1252", "cp1252", "Windows-1252"])
def test_windows_1252_declared(charset: str) -> None:
    assert body_of(charset, NORWEGIAN.encode("cp1252")) == NORWEGIAN


def test_iso_8859_1_declared_but_windows_1252_sent() -> None:
    # Outlook's classic: the label says Latin-1, the quotes, dash and euro are Windows-1252.
    assert body_of("iso-8859-1", NORWEGIAN.encode("cp1252")) == NORWEGIAN


def test_iso_8859_1_declared_and_sent() -> None:
    text = "Hilsen fra Tromsø, med blåbær og ÆØÅ"
    assert body_of("ISO-8859-1", text.encode("latin-1")) == text


@pytest.mark.parametrize("charset", ["iso-8859-1", "us-ascii", "windows-1252"])
def test_utf8_sent_under_a_single_byte_label(charset: str) -> None:
    assert body_of(charset, NORWEGIAN.encode()) == NORWEGIAN


@pytest.mark.parametrize("sent", ["cp1252", "latin-1"])
def test_utf8_declared_but_a_code_page_sent(sent: str) -> None:
    text = "Hei, jeg får ikke logget på. Mvh Øyvind Ærø"
    assert body_of("utf-8", text.encode(sent)) == text


@pytest.mark.parametrize("charset", [None, "us-ascii", "x-unknown", "unknown-8bit", "rot13", "base64"])
def test_undeclared_or_unusable_labels_guess(charset: str | None) -> None:
    assert body_of(charset, NORWEGIAN.encode("cp1252")) == NORWEGIAN
    assert body_of(charset, NORWEGIAN.encode()) == NORWEGIAN


def test_short_undeclared_8bit_is_western() -> None:
    assert decode_bytes("æøå".encode("cp1252"), None) == "æøå"
    assert decode_bytes("Søknad".encode("latin-1"), None) == "Søknad"


def test_a_few_broken_bytes_in_utf8_stay_utf8() -> None:
    assert decode_bytes("blåbær ".encode() + b"\xff", "utf-8") == "blåbær \ufffd"


@pytest.mark.parametrize(
    ("text", "charset"),
    [
        ("Привет, как дела? Принтер не работает сегодня утром.", "koi8-r"),
        ("Привет, как дела? Принтер не работает сегодня утром.", "windows-1251"),
        ("プリンターが動きません。", "shift_jis"),
        ("プリンターが動きません。", "iso-2022-jp"),
        ("Γειά σου κόσμε", "iso-8859-7"),
        ("עברית", "iso-8859-8-i"),  # not a Python label; an alias
    ],
)
def test_other_declared_charsets_are_honoured(text: str, charset: str) -> None:
    assert body_of(charset, text.encode(codec_for(charset) or charset)) == text


def test_double_encoded_utf8_is_repaired() -> None:
    assert fix_mojibake("BlÃ¥bÃ¦rsyltetÃ¸y â€“ Ã…se Ã˜degÃ¥rd") == "Blåbærsyltetøy – Åse Ødegård"
    assert fix_mojibake("Blåbær og Ærø") == "Blåbær og Ærø"  # real Norwegian is left alone


def test_quoted_printable_and_base64_with_lying_labels() -> None:
    assert body_of("iso-8859-1", b"Bl=C3=A5b=C3=A6r", "quoted-printable") == "Blåbær"
    assert body_of("utf-8", b"QmzlYuZy", "base64") == "Blåbær"  # "Blåbær" in Latin-1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=?utf-8?q?Bl=C3=A5b=C3=A6r?=", "Blåbær"),
        ("=?iso-8859-1?q?Bl=E5b=E6r?=", "Blåbær"),
        ("=?iso-8859-1?q?Bl=C3=A5b=C3=A6r?=", "Blåbær"),  # UTF-8 bytes under a Latin-1 label
        ("=?utf-8?q?Bl=E5b=E6r?=", "Blåbær"),  # Latin-1 bytes under a UTF-8 label
        ("=?x-unknown?q?Bl=E5b=E6r?=", "Blåbær"),
        ("=?utf-8?b?QmzDpWLDpnI=?==?utf-8?b?IG9nIGZpc2s=?=", "Blåbær og fisk"),  # adjacent, no space
        ("=?utf-8?b?QmzDp?= =?utf-8?b?WLDpnI=?=", "Blåbær"),  # a character split between words
        ("=?UTF-8?Q?S=C3=B8knad?= =?UTF-8?Q?_om_ferie?=", "Søknad om ferie"),
        ("=?windows-1252?Q?=93Sitat=94_=80?=", "“Sitat” €"),
        ("=?iso-8859-1?Q?=93Sitat=94_=80?=", "“Sitat” €"),
        ("=?utf-8*no?q?Hei?=", "Hei"),  # RFC 2231 language
        ("Re: =?utf-8?q?Bl=C3=A5b=C3=A6r?= og =?utf-8?q?r=C3=B8mme?=", "Re: Blåbær og rømme"),
        ("=?utf-8?q?ikke avsluttet", "=?utf-8?q?ikke avsluttet"),
        ("=?utf-8?b?!!!?=", "=?utf-8?b?!!!?="),
    ],
)
def test_encoded_words(value: str, expected: str) -> None:
    assert decode_words(value) == expected


def test_8bit_header_fields_in_a_code_page_are_read() -> None:
    raw = b"From: =?utf-8?q?Bj=C3=B8rn?= <bjorn@kunde.no>\r\nSubject: Bl\xe5b\xe6r og r\xf8mme\r\n\r\nx"
    result = parse_message(raw)
    assert isinstance(result, Parsed)
    assert result.subject == "Blåbær og rømme"
    assert result.sender.name == "Bjørn"
