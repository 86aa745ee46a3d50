"""Builders of test mail: a small valid winmail.dat, and random MIME trees (for hypothesis and
for the benchmark) with the charsets, transfer encodings and breakage seen in real mail."""

from __future__ import annotations

import base64
import binascii
import quopri
import random
import struct
from collections.abc import Sequence
from typing import Protocol, TypeVar

T = TypeVar("T")

TNEF_SIGNATURE = 0x223E9F78
_MESSAGE, _ATTACHMENT = 1, 2


def _tnef_object(level: int, name: int, kind: int, data: bytes) -> bytes:
    checksum = sum(data) & 0xFFFF
    return struct.pack("<BHHI", level, name, kind, len(data)) + data + struct.pack("<H", checksum)


def tnef(body: str, attachments: Sequence[tuple[str, bytes]], *, codepage: int = 1252) -> bytes:
    """A winmail.dat that tnefparse reads: version, code page, a plain body, and files."""
    encoding = "cp1252" if codepage == 1252 else "utf-8"
    out = struct.pack("<IH", TNEF_SIGNATURE, 0x0001)
    out += _tnef_object(_MESSAGE, 0x9006, 0x0008, struct.pack("<I", 0x00010000))  # TNEF version
    out += _tnef_object(_MESSAGE, 0x9007, 0x0006, struct.pack("<II", codepage, 0))  # OEM code page
    out += _tnef_object(_MESSAGE, 0x800C, 0x0002, body.encode(encoding) + b"\x00")  # body text
    for name, data in attachments:
        out += _tnef_object(_ATTACHMENT, 0x9002, 0x0006, b"\x00" * 14)  # rendering: a new attachment
        out += _tnef_object(_ATTACHMENT, 0x8010, 0x0001, name.encode(encoding) + b"\x00")  # title
        out += _tnef_object(_ATTACHMENT, 0x800F, 0x0006, data)  # data
    return out


class Draw(Protocol):
    """What a generator needs from its source of choices: hypothesis' data or random.Random."""

    def choice(self, options: Sequence[T]) -> T: ...

    def integer(self, low: int, high: int) -> int: ...


class RandomDraw:
    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)

    def choice(self, options: Sequence[T]) -> T:
        return self.random.choice(options)

    def integer(self, low: int, high: int) -> int:
        return self.random.randint(low, high)


CHARSETS = ("utf-8", "windows-1252", "iso-8859-1", "koi8-r", "shift_jis", "us-ascii", None, "x-bogus")
TEXTS = (
    "Hei, skriveren på 3. etasje virker ikke. Blåbærsyltetøy og «sitat» – €5",
    "Привет, принтер не работает",
    "プリンターが動きません",
    "Plain ASCII text with a line\nand another line",
    "Den tir. 24. nov. 2026 kl. 10:12 skrev Kari Nordmann <kari@x.no>:\n> sitat",
    "begin 644 fil.txt\n#86)C\n`\nend\n",
    "On Tue, Nov 24, 2026 Kari wrote:\n> quoted\n",
)
ENCODINGS = ("7bit", "8bit", "base64", "quoted-printable", "broken-base64", "broken-qp", "x-uuencode")
LEAF_TYPES = (
    "text/plain",
    "text/html",
    "text/calendar",
    "image/png",
    "application/pdf",
    "application/ms-tnef",
    "message/rfc822",
    "message/delivery-status",
    "text/rfc822-headers",
)
MULTIPART = ("mixed", "alternative", "related", "report; report-type=delivery-status", "signed", "digest")
HEADER_VALUES = (
    "=?utf-8?q?Bl=C3=A5b=C3=A6r?=",
    "=?iso-8859-1?q?Bl=E5b=E6r?=",
    "=?utf-8?b?QmzDp?= =?utf-8?b?WLDpnI=?=",
    "=?x-unknown?q?S=F8knad?=",
    "Søknad om ferie",
    "=?utf-8?q?broken",
    "plain subject",
)
FILENAMES = (
    "filename*=UTF-8''S%C3%B8knad.pdf",
    "filename*=utf-8'no'S%F8knad.pdf",
    'filename="=?UTF-8?B?U8O4a25hZC5wZGY=?="',
    "filename==?UTF-8?B?U8O4a25hZC5wZGY=?=",
    "filename*0*=UTF-8''S%C3%B8k; filename*1*=nad.pdf",
    'filename="../../etc/passwd"',
    "filename=S\udcf8knad.pdf",
    "",
)


def _encode(data: bytes, encoding: str) -> bytes:
    if encoding == "base64":
        return base64.encodebytes(data)
    if encoding == "quoted-printable":
        return quopri.encodestring(data)
    if encoding == "broken-base64":
        return base64.encodebytes(data)[:-3] + b"!*\n"
    if encoding == "broken-qp":
        return quopri.encodestring(data) + b"=Z9=\n=4"
    if encoding == "x-uuencode":
        lines = (binascii.b2a_uu(data[i : i + 45]) for i in range(0, len(data), 45))
        return b"begin 644 x\n" + b"".join(lines) + b"`\nend\n"
    return data


def _cte(encoding: str) -> str:
    return {"broken-base64": "base64", "broken-qp": "quoted-printable"}.get(encoding, encoding)


def _leaf(draw: Draw, depth: int) -> bytes:
    kind = draw.choice(LEAF_TYPES)
    charset = draw.choice(CHARSETS)
    encoding = draw.choice(ENCODINGS)
    if kind == "message/rfc822":
        inner = message(draw, depth + 1) if depth < 3 else b"From: x@y.no\r\n\r\nbody\r\n"
        return b"Content-Type: message/rfc822\r\n\r\n" + inner
    if kind == "message/delivery-status":
        data = b"Reporting-MTA: dns; mx\n\nFinal-Recipient: rfc822; a@b.no\nAction: failed\nStatus: 5.1.1\n"
    elif kind == "text/rfc822-headers":
        data = b"Message-ID: <orig@x.no>\nFrom: a@b.no\n"
    elif kind == "application/ms-tnef":
        data = tnef("Brødtekst", [("vedlegg.txt", b"hei")])[: draw.integer(10, 400)]
    elif kind.startswith("text/"):
        text = draw.choice(TEXTS)
        if kind == "text/html":
            text = f"<html><body><p>{text}</p><img src='cid:img1'><script>x</script></body></html>"
        data = text.encode(charset or "latin-1", errors="replace") if charset != "x-bogus" else text.encode()
    else:
        data = bytes(range(draw.integer(0, 255))) * draw.integer(1, 4)
    header = f"Content-Type: {kind}"
    if charset is not None:
        header += f"; charset={charset}"
    filename = draw.choice(FILENAMES)
    disposition = draw.choice(("", "inline", "attachment"))
    lines = [header, f"Content-Transfer-Encoding: {_cte(encoding)}"]
    if disposition or filename:
        lines.append(
            f"Content-Disposition: {disposition or 'attachment'}" + (f"; {filename}" if filename else "")
        )
    if draw.integer(0, 3) == 0:
        lines.append("Content-ID: <img1>")
    head = "\r\n".join(lines).encode("utf-8", "surrogateescape")
    return head + b"\r\n\r\n" + _encode(data, encoding)


def _entity(draw: Draw, depth: int) -> bytes:
    if depth >= 4 or draw.integer(0, 2) > 0:
        return _leaf(draw, depth)
    subtype = draw.choice(MULTIPART)
    boundary = f"b{depth}x{draw.integer(0, 9)}"
    children = [_entity(draw, depth + 1) for _ in range(draw.integer(0, 4))]
    close = draw.choice((f"--{boundary}--", f"--{boundary}", "", f"--{boundary}-- trailing"))
    body = b"".join(f"--{boundary}\r\n".encode() + child + b"\r\n" for child in children)
    wrong = draw.integer(0, 9) == 0  # a boundary that does not match the declared one
    declared = boundary + ("z" if wrong else "")
    return (
        f'Content-Type: multipart/{subtype}; boundary="{declared}"\r\n\r\npreamble\r\n'.encode()
        + body
        + close.encode()
        + b"\r\nepilogue\r\n"
    )


def message(draw: Draw, depth: int = 0) -> bytes:
    """A whole message: header fields (some 8-bit or encoded), then a random entity."""
    subject = draw.choice(HEADER_VALUES)
    sender = draw.choice(
        (
            "Kari Nordmann <kari@kunde.no>",
            "=?utf-8?q?Bj=C3=B8rn?= <bjorn@kunde.no>",
            "MAILER-DAEMON@mx.kunde.no",
            "kari@kunde.no (Kari)",
            "alice@example.org)<bob@example.org>",
            "",
        )
    )
    extra = draw.choice(
        ("", "Auto-Submitted: auto-replied\r\n", "Precedence: bulk\r\n", "List-Id: <l.x>\r\n")
    )
    head = (
        f"From: {sender}\r\nTo: support@firma.no\r\nSubject: {subject}\r\nMessage-ID: <m{depth}@kunde.no>\r\n"
    )
    head += f"MIME-Version: 1.0\r\n{extra}"
    if draw.integer(0, 5) == 0:
        head += "X-Raw: Bl\udce5b\udce6r\r\n"  # 8-bit bytes in a header field
    return head.encode("utf-8", "surrogateescape") + _entity(draw, depth)
