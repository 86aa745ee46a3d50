"""uuencoded files inside a text body ("begin 644 name" ... "end"): out of the text, into parts.

Old mailers and some scanners and fax gateways still send them. A block counts only when it
ends with "end" and every line in it decodes; anything else is left in the text as it was.
"""

from __future__ import annotations

import binascii
import re

from services.intake.domain.params import clean_filename
from services.intake.domain.parts import Kind, Part, guess_type
from services.intake.domain.text import repair_8bit

_BEGIN = re.compile(rb"^begin[ \t]+[0-7]{3,4}[ \t]+([^\r\n]*\S)[ \t]*\r?$", re.MULTILINE)
_END = re.compile(rb"^end[ \t]*(?:\r?\n|$)", re.MULTILINE)


def extract(data: bytes, *, limit: int) -> tuple[bytes, list[Part]]:
    """The text without its uuencoded blocks, and the files they held (at most ``limit``)."""
    if b"begin" not in data:
        return data, []
    kept: list[bytes] = []
    parts: list[Part] = []
    position = 0
    for begin in _BEGIN.finditer(data):
        if begin.start() < position or len(parts) >= limit:
            continue
        end = _END.search(data, begin.end())
        if end is None:
            break
        decoded = _decode(data[begin.end() : end.start()])
        if decoded is None:
            continue
        name = clean_filename(repair_8bit(begin.group(1).decode("utf-8", "surrogateescape")))
        parts.append(Part(data=decoded, content_type=guess_type(name), kind=Kind.FILE, filename=name))
        kept.append(data[position : begin.start()])
        position = end.end()
    kept.append(data[position:])
    return b"".join(kept), parts


def _decode(block: bytes) -> bytes | None:
    out = bytearray()
    for line in block.splitlines():
        line = line.rstrip(b"\r")
        if not line:
            continue
        try:
            out += binascii.a2b_uu(line)
        except binascii.Error:
            # Some encoders pad lines with extra characters; the length byte says what counts.
            count = (((line[0] - 32) & 63) * 4 + 5) // 3
            try:
                out += binascii.a2b_uu(line[:count])
            except binascii.Error:
                return None
    return bytes(out)
