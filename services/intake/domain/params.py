"""MIME parameters from the raw header, RFC 2231 and the broken forms mail clients send.

The email package reads the clean cases well but gives U+FFFD for a wrong RFC 2231 charset
or raw 8-bit, None for an unquoted encoded word, cuts an unquoted name at its first space,
and prefers ``filename`` over ``filename*``. Here the raw field is read again, leniently.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote_to_bytes

from services.intake.domain.charsets import decode_bytes, fix_mojibake
from services.intake.domain.headers import decode_words
from services.intake.domain.text import clean_line, repair_8bit

MAX_FILENAME = 255
_SECTION = re.compile(r"([^*\s]+)(?:\*(\d{1,3}))?(\*)?")
# Direction overrides and invisible marks are used to disguise "fdp.exe" as "exe.pdf".
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def params(value: str) -> dict[str, str]:
    """The parameters of a Content-Type or Content-Disposition value, names in lower case.

    ``name*`` and ``name*0*``/``name*1`` continuations are decoded with their charset (repaired
    when wrong); a plain value may carry raw 8-bit or RFC 2047 words; the extended form wins.
    """
    plain: dict[str, str] = {}
    sections: dict[str, dict[int, tuple[str, bool]]] = {}
    for token in _split(value)[1:]:
        name, sep, raw = token.partition("=")
        found = _SECTION.fullmatch(name.strip().lower())
        if not sep or not found:
            continue
        base, index, extended = found.groups()
        text = _unquote(raw.strip())
        if index is None and not extended:
            plain.setdefault(base, text)
        else:
            sections.setdefault(base, {}).setdefault(int(index or 0), (text, bool(extended)))
    result = {name: _plain_value(text) for name, text in plain.items()}
    for name, parts in sections.items():
        joined = _extended_value(parts)
        if joined:
            result[name] = joined
    return result


def _split(value: str) -> list[str]:
    """At the semicolons outside quoted strings."""
    tokens: list[str] = []
    start, quoted, escaped = 0, False, False
    for position, ch in enumerate(value):
        if escaped:
            escaped = False
        elif ch == "\\" and quoted:
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == ";" and not quoted:
            tokens.append(value[start:position])
            start = position + 1
    tokens.append(value[start:])
    return tokens


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text.strip('"')


def _plain_value(text: str) -> str:
    return decode_words(repair_8bit(text)) if "=?" in text else clean_line(repair_8bit(text))


def _extended_value(parts: dict[int, tuple[str, bool]]) -> str:
    charset: str | None = None
    data = bytearray()
    for position, index in enumerate(sorted(parts)):
        text, extended = parts[index]
        if position == 0 and extended and text.count("'") >= 2:
            charset, _, text = text.split("'", 2)
        if extended:
            data += unquote_to_bytes(text)
        else:
            data += text.encode("utf-8", "surrogateescape")
    return clean_line(fix_mojibake(decode_bytes(bytes(data), charset or None)))


def clean_filename(name: str) -> str | None:
    """No path, no control or direction characters, at most 255 characters with the extension kept."""
    name = unicodedata.normalize("NFC", _INVISIBLE.sub("", name))
    name = clean_line(re.split(r"[/\\]", name)[-1]).strip(". ")
    if not name:
        return None
    if len(name) > MAX_FILENAME:
        _, dot, extension = name.rpartition(".")
        keep = extension if dot and len(extension) <= 16 else ""
        name = name[: MAX_FILENAME - len(keep) - 1] + "." + keep if keep else name[:MAX_FILENAME]
    return name
