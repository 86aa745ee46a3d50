"""Reading the MIME tree: alternatives, inline images, forwards, uuencode, winmail.dat,
calendar invites, file names, HTML sanitising and the parts kept for the blob store."""

from __future__ import annotations

import base64
import binascii
import hashlib

import pytest

from services.intake.domain import Kind, Limits, Parsed, QuarantineReason, Rejected, parse_message
from services.intake.domain.html import sanitise
from tests.corpus.builders import tnef

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def message(*headers: str, body: str | bytes = "Hei\r\n") -> bytes:
    head = "\r\n".join(("From: Kari <kari@kunde.no>", "MIME-Version: 1.0", *headers)).encode()
    return head + b"\r\n\r\n" + (body.encode() if isinstance(body, str) else body)


def multipart(subtype: str, *parts: str, boundary: str = "b", extra: str = "") -> tuple[str, str]:
    """The Content-Type field and body of a multipart with ``parts`` (each headers + body)."""
    body = "".join(f"--{boundary}\r\n{part}\r\n" for part in parts) + f"--{boundary}--\r\n"
    return f'Content-Type: multipart/{subtype}; boundary="{boundary}"{extra}', body


def parsed(raw: bytes, **options: object) -> Parsed:
    result = parse_message(raw, **options)  # type: ignore[arg-type]
    assert isinstance(result, Parsed), result
    return result


def b64(data: bytes) -> str:
    return base64.encodebytes(data).decode().replace("\n", "\r\n")


def test_alternative_gives_plain_text_and_sanitised_html() -> None:
    kind, body = multipart(
        "alternative",
        "Content-Type: text/plain; charset=utf-8\r\n\r\nHei på deg",
        "Content-Type: text/html; charset=utf-8\r\n\r\n<p onclick='x()'>Hei <b>på</b> deg</p><script>bad()</script>",
    )
    result = parsed(message(kind, body=body))
    assert result.text_body == "Hei på deg"
    assert result.html == b"<p>Hei <b>p\xc3\xa5</b> deg</p>"
    assert result.html_sha256 == hashlib.sha256(result.html).hexdigest()
    assert result.parts == ()


def test_html_only_gives_text_from_the_html() -> None:
    html = "<table><tr><td>Navn</td><td>Kari</td></tr></table><ul><li>en</li><li>to</li></ul>"
    result = parsed(message("Content-Type: text/html; charset=utf-8", body=html))
    assert result.text_body == "Navn Kari\n\n * en\n * to"
    assert result.html is not None and b"<table>" in result.html


def test_an_alternative_nobody_reads_is_kept() -> None:
    kind, body = multipart(
        "alternative",
        "Content-Type: text/plain\r\n\r\nplain",
        "Content-Type: text/enriched\r\n\r\n<bold>rich</bold>",
        "Content-Type: text/html\r\n\r\n<p>html</p>",
        "Content-Type: text/x-amp-html\r\n\r\n<html amp4email>amp</html>",
    )
    result = parsed(message(kind, body=body))
    assert result.text_body == "plain"
    kept = [(part.kind, part.content_type) for part in result.parts]
    assert kept == [(Kind.ALTERNATIVE, "text/enriched"), (Kind.ALTERNATIVE, "text/x-amp-html")]


def test_the_last_plain_and_html_alternatives_win() -> None:
    kind, body = multipart(
        "alternative",
        "Content-Type: text/plain\r\n\r\nfirst",
        "Content-Type: text/plain\r\n\r\nsecond",
    )
    result = parsed(message(kind, body=body))
    assert result.text_body == "second"
    assert [part.data for part in result.parts] == [b"first"]


def test_cid_images_are_kept_and_linked_from_the_html() -> None:
    html = '<p>Se bildet</p><img src="cid:logo@kunde.no" alt="Logo"><img src="https://track.example/x.gif">'
    related, related_body = multipart(
        "related",
        f"Content-Type: text/html; charset=utf-8\r\n\r\n{html}",
        f"Content-Type: image/png\r\nContent-ID: <Logo@Kunde.no>\r\nContent-Transfer-Encoding: base64\r\n"
        f"Content-Disposition: inline; filename=logo.png\r\n\r\n{b64(PNG)}",
        boundary="r",
    )
    kind, body = multipart(
        "alternative", "Content-Type: text/plain\r\n\r\nSe bildet", f"{related}\r\n\r\n{related_body}"
    )
    result = parsed(message(kind, body=body), attachment_url="/files/{sha256}/raw")
    (image,) = result.parts
    assert (image.kind, image.content_id, image.filename, image.disposition) == (
        Kind.INLINE_IMAGE,
        "Logo@Kunde.no",
        "logo.png",
        "inline",
    )
    assert image.data == PNG and image.sha256 == hashlib.sha256(PNG).hexdigest()
    assert result.html is not None
    html_out = result.html.decode()
    assert f'src="/files/{image.sha256}/raw"' in html_out
    assert "track.example" not in html_out  # remote images are dropped: no read receipts


def test_a_forwarded_message_is_kept_and_its_text_searchable() -> None:
    inner = (
        "From: Per <per@kunde.no>\r\nSubject: =?utf-8?q?M=C3=B8te?=\r\nDate: Mon, 23 Nov 2026 09:00:00 +0100\r\n"
        "Message-ID: <inner@kunde.no>\r\n\r\nServeren piper.\r\n"
    )
    kind, body = multipart(
        "mixed",
        "Content-Type: text/plain\r\n\r\nSe under.",
        f"Content-Type: message/rfc822\r\n\r\n{inner}",
    )
    result = parsed(message(kind, body=body))
    assert result.text_body == "Se under."
    (forwarded,) = result.parts
    assert forwarded.kind is Kind.FORWARDED_MESSAGE
    assert forwarded.content_type == "message/rfc822"
    assert forwarded.filename == "Møte.eml"
    assert b"Message-ID: <inner@kunde.no>" in forwarded.data
    assert "From: Per <per@kunde.no>" in result.forwarded_text
    assert "Subject: Møte" in result.forwarded_text
    assert "Serveren piper." in result.forwarded_text


def test_a_base64_forwarded_message_is_decoded() -> None:
    inner = b"From: per@kunde.no\r\nSubject: Inne\r\n\r\nInnerst inne\r\n"
    kind, body = multipart(
        "mixed",
        "Content-Type: text/plain\r\n\r\nHer.",
        f"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64(inner)}",
    )
    result = parsed(message(kind, body=body))
    assert result.parts[0].data == inner
    assert "Innerst inne" in result.forwarded_text


def test_uuencoded_files_leave_the_text_and_become_parts() -> None:
    encoded = binascii.b2a_uu(b"loggdata 123\n").decode()
    body = f"Her er loggen.\r\n\r\nbegin 644 logg.txt\r\n{encoded}`\r\nend\r\n\r\nHilsen Kari\r\n"
    result = parsed(message("Content-Type: text/plain", body=body))
    assert "begin 644" not in result.text_body
    assert result.text_body.startswith("Her er loggen.") and result.text_body.endswith("Hilsen Kari")
    (part,) = result.parts
    assert (part.filename, part.data, part.content_type, part.kind) == (
        "logg.txt",
        b"loggdata 123\n",
        "text/plain",
        Kind.FILE,
    )


def test_text_that_only_looks_like_uuencode_stays() -> None:
    body = "begin 644 not really\r\nthis is prose, not uuencode at all!\r\nend\r\n"
    result = parsed(message("Content-Type: text/plain", body=body))
    assert "this is prose" in result.text_body and result.parts == ()


def test_winmail_dat_gives_its_files_and_body_and_is_kept() -> None:
    data = tnef("Rapporten ligger vedlagt.", [("rapport.txt", b"1 2 3"), ("Søknad.pdf", b"%PDF-1.4")])
    kind, body = multipart(
        "mixed",
        "Content-Type: application/ms-tnef; name=winmail.dat\r\nContent-Transfer-Encoding: base64\r\n"
        f"Content-Disposition: attachment; filename=winmail.dat\r\n\r\n{b64(data)}",
    )
    result = parsed(message(kind, body=body))
    assert result.text_body == "Rapporten ligger vedlagt."
    assert [(p.kind, p.filename, p.content_type, p.data) for p in result.parts] == [
        (Kind.TNEF, "winmail.dat", "application/ms-tnef", data),
        (Kind.FILE, "rapport.txt", "text/plain", b"1 2 3"),
        (Kind.FILE, "Søknad.pdf", "application/pdf", b"%PDF-1.4"),
    ]


def test_a_tnef_body_does_not_replace_a_mime_body() -> None:
    data = tnef("TNEF-tekst", [])
    kind, body = multipart(
        "mixed",
        "Content-Type: text/plain\r\n\r\nVanlig tekst",
        f"Content-Type: application/vnd.ms-tnef\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64(data)}",
    )
    assert parsed(message(kind, body=body)).text_body == "Vanlig tekst"


def test_a_damaged_winmail_dat_is_kept_with_a_note() -> None:
    kind, body = multipart(
        "mixed",
        "Content-Type: text/plain\r\n\r\nTekst",
        "Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=WINMAIL.DAT\r\n"
        "\r\nnot tnef at all",
    )
    result = parsed(message(kind, body=body))
    assert [(p.kind, p.data) for p in result.parts] == [(Kind.TNEF, b"not tnef at all")]
    assert any("winmail.dat" in note for note in result.notes)


def test_a_calendar_invite_is_kept_as_a_calendar_part() -> None:
    ics = (
        "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nSUMMARY:Møte\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    kind, body = multipart(
        "alternative",
        "Content-Type: text/plain; charset=utf-8\r\n\r\nInvitasjon",
        f"Content-Type: text/calendar; charset=utf-8; method=REQUEST\r\n\r\n{ics}",
    )
    result = parsed(message(kind, body=body))
    assert result.text_body == "Invitasjon"
    (invite,) = result.parts
    assert (invite.kind, invite.content_type, invite.filename) == (
        Kind.CALENDAR,
        "text/calendar",
        "invite.ics",
    )
    assert "SUMMARY:Møte" in invite.data.decode()


@pytest.mark.parametrize(
    ("disposition", "expected"),
    [
        ("attachment; filename*=UTF-8''S%C3%B8knad.pdf", "Søknad.pdf"),
        ("attachment; filename*=utf-8'no'S%F8knad.pdf", "Søknad.pdf"),  # wrong charset
        ("attachment; filename*=S%C3%B8knad.pdf", "Søknad.pdf"),  # no charset at all
        ("attachment; filename*0*=UTF-8''S%C3%B8k; filename*1*=nad.pdf", "Søknad.pdf"),
        ('attachment; filename="=?UTF-8?B?U8O4a25hZC5wZGY=?="', "Søknad.pdf"),
        ("attachment; filename==?UTF-8?B?U8O4a25hZC5wZGY=?=", "Søknad.pdf"),  # unquoted encoded word
        ("attachment; filename=Søknad om ferie.pdf", "Søknad om ferie.pdf"),  # unquoted, spaces, 8-bit
        ("attachment; filename=\"a.pdf\"; filename*=UTF-8''b%C3%B8.pdf", "bø.pdf"),  # RFC 6266: * wins
        ('attachment; filename="../../etc/passwd"', "passwd"),
        ("attachment; filename*=UTF-8''%E2%80%AEfdp.exe", "fdp.exe"),  # direction override removed
    ],
)
def test_file_names_in_every_form(disposition: str, expected: str) -> None:
    kind, body = multipart(
        "mixed",
        "Content-Type: text/plain\r\n\r\nVedlegg",
        f"Content-Type: application/pdf\r\nContent-Disposition: {disposition}\r\n\r\n%PDF",
    )
    assert parsed(message(kind, body=body)).parts[0].filename == expected


def test_a_latin1_file_name_in_raw_8bit_is_repaired() -> None:
    kind, body = multipart(
        "mixed", "Content-Type: text/plain\r\n\r\nx", 'Content-Type: text/csv; name="R\xf8d.csv"\r\n\r\na;b'
    )
    assert parsed(message(kind, body=body.encode("latin-1"))).parts[0].filename == "Rød.csv"


def test_an_attached_text_file_is_a_part_not_body() -> None:
    kind, body = multipart(
        "mixed",
        "Content-Type: text/plain\r\n\r\nSe vedlegg",
        "Content-Type: text/plain; name=notat.txt\r\nContent-Disposition: inline; filename=notat.txt\r\n\r\nnotat",
        "Content-Type: text/plain\r\n\r\n-- \r\nListefot",
    )
    result = parsed(message(kind, body=body))
    assert result.text_body == "Se vedlegg\n\n-- \nListefot"
    assert [(p.filename, p.data) for p in result.parts] == [("notat.txt", b"notat")]


def test_parts_in_winmail_dat_and_uuencode_count_towards_the_part_limit() -> None:
    data = tnef("x", [(f"f{i}.txt", b"data") for i in range(5)])
    kind, body = multipart(
        "mixed", f"Content-Type: application/ms-tnef\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64(data)}"
    )
    raw = message(kind, body=body)
    assert len(parsed(raw, limits=Limits(max_parts=6)).parts) == 6
    result = parse_message(raw, limits=Limits(max_parts=5))
    assert isinstance(result, Rejected) and result.reason is QuarantineReason.TOO_MANY_PARTS


def test_a_part_that_cannot_be_read_is_kept_not_fatal() -> None:
    kind, body = multipart(
        "mixed",
        "Content-Type: text/plain\r\n\r\nTekst",
        "Content-Type: message/delivery-status\r\n\r\n\x00\x01 not fields",
        "Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!",
    )
    result = parsed(message(kind, body=body))
    assert result.text_body == "Tekst"
    assert [p.content_type for p in result.parts] == ["message/delivery-status", "image/png"]


def test_the_sanitiser_keeps_formatting_and_drops_everything_active() -> None:
    html = (
        '<style>p{}</style><p style="color:red" class="x" onmouseover="steal()">Hei <b>på</b> <i>deg</i></p>'
        '<a href="https://firma.no/sak">sak</a> <a href="javascript:alert(1)">js</a> <a href="/api/v1/x">rel</a>'
        '<img src="cid:a"><img src="data:image/png;base64,AAAA"><form><input name=pw></form>'
        "<iframe src=https://evil></iframe><table><tr><td colspan=2>celle</td></tr></table><!-- kommentar -->"
    )
    out = sanitise(html, images={"a": "/api/v1/attachments/abc"})
    assert out.startswith("<p>Hei <b>på</b> <i>deg</i></p>")
    for kept in (
        'href="https://firma.no/sak"',
        'rel="noopener noreferrer"',
        'target="_blank"',
        '<td colspan="2">',
    ):
        assert kept in out
    assert '<img src="/api/v1/attachments/abc">' in out
    for dropped in (
        "style",
        "class",
        "onmouseover",
        "javascript",
        "/api/v1/x",
        "data:",
        "form",
        "input",
        "iframe",
    ):
        assert dropped not in out
    assert "kommentar" not in out and "p{}" not in out


def test_plain_pieces_between_html_ones_are_escaped() -> None:
    kind, body = multipart(
        "mixed",
        "Content-Type: text/plain\r\n\r\n<b>ikke fet</b>",
        "Content-Type: text/html\r\n\r\n<p>fet <b>ja</b></p>",
    )
    result = parsed(message(kind, body=body))
    assert result.html == b"<pre>&lt;b&gt;ikke fet&lt;/b&gt;</pre>\n<p>fet <b>ja</b></p>"
    assert result.text_body == "<b>ikke fet</b>\n\nfet ja"


def test_html_charset_from_a_meta_tag_when_the_header_has_none() -> None:
    html = '<html><head><meta charset="windows-1252"></head><body>Bl\xe5b\xe6r \x80</body></html>'
    result = parsed(message("Content-Type: text/html", body=html.encode("latin-1")))
    assert result.text_body == "Blåbær €"


def test_deeply_nested_html_is_shown_as_its_text() -> None:
    # html5ever needs quadratic time for this; the text is what matters.
    assert sanitise("<div>" * 20_000 + "dypt <script>x</script>", images={}) == "<pre>dypt</pre>"


def test_an_extra_that_fails_leaves_a_note_not_a_quarantine(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.intake.domain import parsing

    def broken(text: str) -> str:
        raise RecursionError("too deep")

    monkeypatch.setattr(parsing, "reply_text", broken)
    result = parsed(message("Content-Type: text/plain", body="Hei\r\n\r\n> sitat\r\n"))
    assert (result.text_body, result.reply_text) == ("Hei\n\n> sitat", None)
    assert result.notes == ("reply: RecursionError: too deep",)
