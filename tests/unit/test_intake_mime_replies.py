"""The new text of a reply, without what it quotes: Norwegian (bokmål) and English clients."""

from __future__ import annotations

import time

import pytest

from services.intake.domain import Parsed, parse_message
from services.intake.domain.quotes import reply_text

REPLIES = {
    "gmail, bokmål": (
        "Takk, det virker nå!\n\nHilsen\nOla\n\n"
        "Den tir. 24. nov. 2026 kl. 10:12 skrev Kari Nordmann <kari@x.no>:\n\n> Har du prøvd å starte på nytt?\n"
    ),
    "gmail, bokmål, header wrapped in the address": (
        "Takk, det virker nå!\n\nHilsen\nOla\n\n"
        "Den tir. 24. nov. 2026 kl. 10:12 skrev Kari Nordmann <\nkari@x.no>:\n\n> Har du prøvd?\n"
    ),
    "apple mail, bokmål": (
        "Takk, det virker nå!\n\nHilsen\nOla\n\n24. nov. 2026 kl. 10:12 skrev Kari Nordmann <kari@x.no>:\n\n> Hei\n"
    ),
    "thunderbird, bokmål": "Takk, det virker nå!\n\nHilsen\nOla\n\nDen 24.11.2026 10:12, skrev Kari Nordmann:\n> Hei\n",
    "outlook, bokmål": (
        "Takk, det virker nå!\n\nHilsen\nOla\n\n"
        "Fra: Kari Nordmann <kari@x.no>\nSendt: tirsdag 24. november 2026 10:12\nTil: Support <support@firma.no>\n"
        "Emne: Skriver\n\nSkriveren virker ikke.\n"
    ),
    "outlook, bold header from HTML": (
        "Takk, det virker nå!\n\nHilsen\nOla\n\n"
        "*Fra:* Kari Nordmann\n*Sendt:* tirsdag 24. november 2026 10:12\n*Til:* Support\n*Emne:* Skriver\n\nGammelt\n"
    ),
    "outlook, original message separator": (
        "Takk, det virker nå!\n\nHilsen\nOla\n\n-----Opprinnelig melding-----\n"
        "Fra: Kari Nordmann [mailto:kari@x.no]\nSendt: 24. november 2026 10:12\nTil: Support\nEmne: Skriver\n\nGammelt\n"
    ),
    "english, on ... wrote": (
        "Takk, det virker nå!\n\nHilsen\nOla\n\n"
        "On Tue, Nov 24, 2026 at 10:12 AM Kari Nordmann <kari@x.no> wrote:\n> Did you try restarting?\n"
    ),
    "english, outlook": (
        "Takk, det virker nå!\n\nHilsen\nOla\n\n"
        "From: Kari Nordmann <kari@x.no>\nSent: Tuesday, November 24, 2026 10:12 AM\nTo: Support\nSubject: Printer\n\nOld\n"
    ),
    "english, original message": (
        "Takk, det virker nå!\n\nHilsen\nOla\n\n-----Original Message-----\nFrom: Kari\nSent: Tuesday\nTo: x\n\nOld\n"
    ),
    "forwarded inline, bokmål": (
        "Takk, det virker nå!\n\nHilsen\nOla\n\n---------- Videresendt melding ---------\nFra: Per <per@x.no>\n"
    ),
    "closing quote without a header": "Takk, det virker nå!\n\nHilsen\nOla\n\n> Har du prøvd?\n> Kari\n",
}


@pytest.mark.parametrize("text", REPLIES.values(), ids=REPLIES.keys())
def test_the_reply_is_the_text_above_the_quote(text: str) -> None:
    assert reply_text(text) == "Takk, det virker nå!\n\nHilsen\nOla"


@pytest.mark.parametrize(
    "text",
    [
        "Bare en vanlig melding.\nMed to linjer.\n\nHilsen Kari\n",
        # A travel request is not an Outlook header block, though it looks a little like one.
        "Hei, jeg trenger billett.\nFra: Oslo\nTil: Bergen\nDato: 12. mars\n\nMvh Ola",
        "Jeg svarte > 5 ganger\n> ikke et sitat? jo, men midt i teksten\nmer tekst\n",
    ],
)
def test_nothing_quoted_gives_none(text: str) -> None:
    assert reply_text(text) is None


def test_a_message_that_is_all_quote_gives_an_empty_reply() -> None:
    assert reply_text("On Tue, Nov 24, 2026 at 10:12 AM Kari <kari@x.no> wrote:\n> Old\n") == ""
    assert reply_text("Den tir. 24. nov. 2026 kl. 10:12 skrev Kari <kari@x.no>:\n> Gammelt\n") == ""


def test_interleaved_answers_keep_their_quotes() -> None:
    text = "> Virker skriveren?\nNei.\n> Har du startet på nytt?\nJa.\n\nHilsen Ola\n"
    assert reply_text(text) is None


def test_formatting_of_the_reply_is_kept() -> None:
    text = "Liste:\n    - en\n    - to\n\nFra: Kari <kari@x.no>\nSendt: i går\nTil: oss\n"
    assert reply_text(text) == "Liste:\n    - en\n    - to"


def test_long_hostile_lines_stay_fast() -> None:
    text = ("On " + "a " * 5000 + "\n") * 40 + ("Den " + "b " * 5000 + "\n") * 40
    started = time.perf_counter()
    reply_text(text)
    assert time.perf_counter() - started < 2


def test_parsed_messages_carry_the_reply_and_the_full_text() -> None:
    body = REPLIES["outlook, bokmål"].replace("\n", "\r\n").encode()
    raw = b"From: ola@kunde.no\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body
    result = parse_message(raw)
    assert isinstance(result, Parsed)
    assert result.reply_text == "Takk, det virker nå!\n\nHilsen\nOla"
    assert result.text_body.endswith("Skriveren virker ikke.")


def test_html_replies_are_separated_through_their_text() -> None:
    html = (
        '<div dir="ltr">Takk!</div><br><div class="gmail_quote"><div class="gmail_attr">'
        "Den tir. 24. nov. 2026 kl. 10:12 skrev Kari &lt;kari@x.no&gt;:<br></div>"
        "<blockquote>Gammelt</blockquote></div>"
    )
    raw = b"From: ola@kunde.no\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html.encode()
    result = parse_message(raw)
    assert isinstance(result, Parsed)
    assert result.reply_text == "Takk!"
