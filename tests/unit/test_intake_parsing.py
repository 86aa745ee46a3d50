"""Intake's pure parsing: senders, auto-replies, charsets, limits, and what goes to quarantine."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.intake.domain import Limits, Parsed, QuarantineReason, Rejected, parse_message
from services.intake.domain.addresses import normalise, strict_getaddresses
from services.intake.domain.headers import RawHeaders
from services.intake.domain.text import decode_bytes, html_to_text


def mail(*headers: str, body: str | bytes = "Hei\r\n") -> bytes:
    head = "\r\n".join(headers).encode()
    payload = body.encode() if isinstance(body, str) else body
    return head + b"\r\n\r\n" + payload


def parsed(raw: bytes, limits: Limits = Limits()) -> Parsed:
    result = parse_message(raw, limits=limits)
    assert isinstance(result, Parsed), result
    return result


def rejected(raw: bytes, limits: Limits = Limits()) -> Rejected:
    result = parse_message(raw, limits=limits)
    assert isinstance(result, Rejected), result
    return result


def test_a_plain_message_gives_what_cases_needs() -> None:
    raw = mail(
        'From: "Kari Nordmann" <kari@Kunde.NO>',
        "To: Servicedesk <support@firma.no>, it@Firma.no",
        "Cc: leder@firma.no",
        "Subject: Skriveren virker ikke",
        "Message-ID: <m1@kunde.no>",
        "In-Reply-To: <m0@firma.no> (reply to the acknowledgement)",
        "References: <root@kunde.no>\r\n <m0@firma.no>",
        body="Den sier PC LOAD LETTER.\r\n",
    )
    result = parsed(raw)
    assert result.sender.email == "kari@kunde.no"
    assert result.sender.name == "Kari Nordmann"
    assert result.subject == "Skriveren virker ikke"
    assert result.text_body == "Den sier PC LOAD LETTER."
    assert result.message_id == "<m1@kunde.no>"
    assert result.in_reply_to == ["<m0@firma.no>"]
    assert result.references == ["<root@kunde.no>", "<m0@firma.no>"]
    assert result.to == ["support@firma.no", "it@firma.no"]
    assert result.cc == ["leder@firma.no"]
    assert result.auto_submitted is False


def test_only_the_domain_is_lowercased() -> None:
    assert parsed(mail("From: Kari.Nordmann@KUNDE.no")).sender.email == "Kari.Nordmann@kunde.no"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (["Reply-To: svar@kunde.no"], "svar@kunde.no"),
        (["Sender: sender@kunde.no"], "sender@kunde.no"),
        (["Return-Path: <bounce@kunde.no>"], "bounce@kunde.no"),
        (["From: not an address", "Reply-To: svar@kunde.no"], "svar@kunde.no"),
        (["From: undisclosed-recipients:;", "Sender: s@kunde.no"], "s@kunde.no"),
        (["Return-Path: <>", "Sender: s@kunde.no"], "s@kunde.no"),
        (["From: a@kunde.no, b@kunde.no", "Sender: b@kunde.no"], "b@kunde.no"),
    ],
)
def test_the_sender_falls_back_in_order(headers: list[str], expected: str) -> None:
    assert parsed(mail(*headers, "Subject: x")).sender.email == expected


def test_no_usable_sender_anywhere_is_quarantined() -> None:
    result = rejected(mail("Subject: Hvem er jeg?", "Return-Path: <>", "From: nobody"))
    assert result.reason is QuarantineReason.NO_SENDER
    assert result.summary.subject == "Hvem er jeg?"


def test_several_from_addresses_without_a_sender_are_ambiguous() -> None:
    result = rejected(mail("From: a@kunde.no, b@kunde.no", "Subject: x"))
    assert result.reason is QuarantineReason.AMBIGUOUS_SENDER
    assert "a@kunde.no" in result.detail and "b@kunde.no" in result.detail


def test_strict_address_parsing_refuses_spliced_addresses() -> None:
    # CVE-2023-27043: the lenient parser would hand back bob@example.org here.
    assert strict_getaddresses(["alice@example.org)<bob@example.org>"]) == [("", "")]
    assert strict_getaddresses(['"Doe, John" <j@x.org>, k@y.org']) == [
        ("Doe, John", "j@x.org"),
        ("", "k@y.org"),
    ]
    assert normalise("no-at-sign") is None
    assert normalise("a@b..c") is None


def test_an_encoded_subject_and_sender_name_are_decoded() -> None:
    raw = mail(
        "From: =?iso-8859-1?q?Bj=F8rn_=C6r=F8?= <bjorn@kunde.no>",
        "Subject: =?utf-8?b?U2tyaXZlcmVuIHDDpSAzLiBldGFzamUgZXIgw7hkZWxhZ3Q=?=",
    )
    result = parsed(raw)
    assert result.subject == "Skriveren på 3. etasje er ødelagt"
    assert result.sender.name == "Bjørn Ærø"


@pytest.mark.parametrize("charset", ["windows-1252", "iso-8859-1"])
def test_a_western_body_is_decoded(charset: str) -> None:
    raw = mail(
        "From: a@kunde.no",
        f"Content-Type: text/plain; charset={charset}",
        "Content-Transfer-Encoding: 8bit",
        body="Blåbærsyltetøy og €".encode(charset, errors="replace"),
    )
    expected = "Blåbærsyltetøy og " + ("€" if charset == "windows-1252" else "?")
    assert parsed(raw).text_body == expected


def test_undeclared_8bit_is_utf8_when_valid_else_windows_1252() -> None:
    assert parsed(mail("From: a@kunde.no", body="æøå".encode())).text_body == "æøå"
    assert parsed(mail("From: a@kunde.no", body="æøå".encode("cp1252"))).text_body == "æøå"


def test_bad_bytes_and_unknown_charsets_become_replacement_characters() -> None:
    # Bad bytes inside otherwise good UTF-8 are replaced; a body without any good UTF-8 is
    # taken for a mislabelled code page and repaired instead (see test_intake_mime_charsets).
    raw = mail(
        "From: a@kunde.no",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
        body="blåbær ".encode() + b"ok \xff\xfe ok",
    )
    assert parsed(raw).text_body == "blåbær ok \ufffd\ufffd ok"
    unknown = mail("From: a@kunde.no", "Content-Type: text/plain; charset=x-no-such-charset", body=b"hei")
    assert parsed(unknown).text_body == "hei"
    assert decode_bytes(b"hei", "rot13") == "hei"  # not a text codec: ignored, not an exception


def test_quoted_printable_and_base64_bodies_are_decoded() -> None:
    qp = mail(
        "From: a@kunde.no",
        "Content-Type: text/plain; charset=iso-8859-1",
        "Content-Transfer-Encoding: quoted-printable",
        body="Hilsen fra Troms=F8=\r\n, med bl=E5b=E6r",
    )
    assert parsed(qp).text_body == "Hilsen fra Tromsø, med blåbær"
    b64 = mail(
        "From: a@kunde.no",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: base64",
        body="w6bDuMOl",
    )
    assert parsed(b64).text_body == "æøå"


def multipart(*parts: tuple[str, str], subtype: str = "alternative", boundary: str = "b1") -> bytes:
    chunks = [f"--{boundary}\r\nContent-Type: {kind}\r\n\r\n{content}\r\n" for kind, content in parts]
    return mail(
        "From: a@kunde.no",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/{subtype}; boundary="{boundary}"',
        body="".join(chunks) + f"--{boundary}--\r\n",
    )


def test_text_plain_is_preferred_over_html() -> None:
    raw = multipart(("text/html; charset=utf-8", "<p>HTML</p>"), ("text/plain; charset=utf-8", "Plain"))
    assert parsed(raw).text_body == "Plain"


def test_html_only_is_stripped_to_text() -> None:
    html = (
        "<html><head><title>T</title><style>p{color:red}</style></head><body>"
        "<p>Hei &amp; velkommen</p><script>alert('x')</script><ul><li>en</li><li>to</li></ul>"
        "</body></html>"
    )
    assert (
        parsed(multipart(("text/html; charset=utf-8", html))).text_body == "Hei & velkommen\n\n * en\n * to"
    )


def test_html_to_text_survives_broken_markup() -> None:
    # A <p> ends an unclosed <head>, as in a browser: both texts are shown.
    assert html_to_text("<head><p>no closing head<body>Tekst</body>") == "no closing head\n\nTekst"
    assert html_to_text("<div>a<div>b</div>  c&lt;d</div><br><<>>") == "a\nb\nc<d\n\n<<>>"


@pytest.mark.parametrize(
    "headers",
    [
        ["Auto-Submitted: auto-replied"],
        ["Auto-Submitted: auto-generated (bounce)"],
        ["Precedence: bulk"],
        ["Precedence: Junk"],
        ["Precedence: list"],
        ["List-Id: <nyheter.firma.no>"],
        ["List-Unsubscribe: <mailto:unsub@firma.no>"],
        ["X-Autoreply: yes"],
        ["X-Autorespond: Out of office"],
        ["Return-Path: <>"],
    ],
)
def test_machine_mail_is_auto_submitted(headers: list[str]) -> None:
    assert parsed(mail("From: a@kunde.no", *headers)).auto_submitted is True


@pytest.mark.parametrize("sender", ["MAILER-DAEMON@kunde.no", "postmaster@kunde.no"])
def test_system_senders_are_auto_submitted(sender: str) -> None:
    assert parsed(mail(f"From: {sender}")).auto_submitted is True


@pytest.mark.parametrize(
    "headers", [["Auto-Submitted: no"], ["Auto-Submitted: No (sent by hand)"], ["Precedence: first-class"]]
)
def test_person_mail_is_not_auto_submitted(headers: list[str]) -> None:
    assert parsed(mail("From: a@kunde.no", *headers)).auto_submitted is False


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        bytes(range(256)) * 4,
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"Just some text someone pasted,\nwith no header at all.\n",
        b"\r\n\r\nFrom: late@kunde.no\r\n",
    ],
)
def test_garbage_is_a_parse_error(raw: bytes) -> None:
    assert rejected(raw).reason is QuarantineReason.PARSE_ERROR


def test_an_mbox_from_line_is_tolerated() -> None:
    raw = b"From kari@kunde.no Mon Jan  1 00:00:00 2024\n" + mail("From: kari@kunde.no", "Subject: x")
    assert parsed(raw).sender.email == "kari@kunde.no"


def test_too_many_parts_are_quarantined() -> None:
    raw = multipart(*[("text/plain", f"part {i}") for i in range(10)], subtype="mixed")
    # Inline text parts of a multipart/mixed are all body, in order.
    assert parsed(raw, Limits(max_parts=11)).text_body == "\n\n".join(f"part {i}" for i in range(10))
    assert rejected(raw, Limits(max_parts=10)).reason is QuarantineReason.TOO_MANY_PARTS


def nested(depth: int) -> bytes:
    body = "Content-Type: text/plain\r\n\r\ninnerst\r\n"
    for level in range(depth):
        body = (
            f'Content-Type: multipart/mixed; boundary="b{level}"\r\n\r\n--b{level}\r\n{body}--b{level}--\r\n'
        )
    return b"From: a@kunde.no\r\nMIME-Version: 1.0\r\n" + body.encode()


def test_deep_nesting_is_quarantined() -> None:
    assert parsed(nested(5), Limits(max_depth=5)).text_body == "innerst"
    assert rejected(nested(6), Limits(max_depth=5)).reason is QuarantineReason.DEPTH_EXCEEDED


def test_nesting_too_deep_for_the_parser_itself_is_depth_exceeded() -> None:
    assert rejected(nested(3000)).reason is QuarantineReason.DEPTH_EXCEEDED


def test_a_mail_loop_is_suspected_from_many_received_fields() -> None:
    hops = [f"Received: from relay{i}.kunde.no by relay{i + 1}.kunde.no" for i in range(4)]
    assert parsed(mail("From: a@kunde.no", *hops), Limits(max_hops=4)).sender.email == "a@kunde.no"
    assert (
        rejected(mail("From: a@kunde.no", *hops), Limits(max_hops=3)).reason
        is QuarantineReason.LOOP_SUSPECTED
    )


def test_the_body_is_cut_at_the_limit() -> None:
    result = parsed(mail("From: a@kunde.no", body="x" * 50), Limits(max_body_chars=10))
    assert result.text_body == "x" * 10
    assert result.body_truncated is True


def test_headers_of_a_rejected_message_are_kept_for_display() -> None:
    result = rejected(mail("Subject: =?utf-8?q?Hj=C3=A6lp?=", "X-Mailer: Something\r\n continued"))
    assert result.summary.headers == (("Subject", "Hjælp"), ("X-Mailer", "Something continued"))


def test_8bit_header_bytes_and_control_characters_are_cleaned() -> None:
    raw = b"From: a@kunde.no\r\nSubject: Bl\xc3\xa5b\xc3\xa6r\x00 og\tfisk\r\n\r\nbody\x00\r\n"
    result = parsed(raw)
    assert result.subject == "Blåbær og fisk"
    assert result.text_body == "body"


def test_a_message_id_without_brackets_gets_them() -> None:
    assert parsed(mail("From: a@kunde.no", "Message-ID: abc@kunde.no")).message_id == "<abc@kunde.no>"
    assert parsed(mail("From: a@kunde.no", "Message-ID: not an id")).message_id is None


def test_raw_headers_compare_names_case_insensitively() -> None:
    headers = RawHeaders.of([("FROM", "a@b.no"), ("from", "c@d.no")])
    assert headers.all("From") == ["a@b.no", "c@d.no"]
    assert "from" in headers and "to" not in headers


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_give_an_answer_never_an_exception(raw: bytes) -> None:
    assert isinstance(parse_message(raw), Parsed | Rejected)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                b"From: a@b.no",
                b"Subject: ",
                b"\xff\xfe",
                b"=?x?q?",
                b"(",
                b"<>",
                b"\r\n",
                b":",
                b"Content-Type: multipart/mixed; boundary=x",
                b"--x",
            ]
        ),
        max_size=30,
    )
)
def test_header_like_noise_gives_an_answer_never_an_exception(pieces: list[bytes]) -> None:
    assert isinstance(parse_message(b"".join(pieces)), Parsed | Rejected)
