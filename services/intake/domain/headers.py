"""Header fields as sent, and the small readers for the ones intake needs (ids, subjects)."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass

from services.intake.domain.charsets import decode_bytes, fix_mojibake
from services.intake.domain.text import clean_line, repair_8bit

_FOLD = re.compile(r"\r?\n(?=[ \t])")
# Printable ASCII without the brackets: an id with anything else in it is not one we pass on.
_MSG_ID = re.compile(r"<[\x21-\x3b\x3d\x3f-\x7e]+>")
_BARE_ID = re.compile(r"[\x21-\x3b\x3d\x3f-\x7e]+@[\x21-\x3b\x3d\x3f-\x7e]+")
# RFC 2047 encoded word; the charset may carry an RFC 2231 language ("utf-8*no").
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([qQbB])\?([^?]*)\?=")
_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/]")

MAX_DISPLAY_HEADERS = 200
MAX_DISPLAY_VALUE = 2000


@dataclass(frozen=True)
class RawHeaders:
    """The header section in order, unfolded, 8-bit bytes decoded; names compare case-insensitively."""

    items: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str]]) -> RawHeaders:
        return cls(tuple((name, _FOLD.sub("", repair_8bit(str(value)))) for name, value in pairs))

    def all(self, name: str) -> list[str]:
        wanted = name.lower()
        return [value for key, value in self.items if key.lower() == wanted]

    def first(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and bool(self.all(name))

    def __len__(self) -> int:
        return len(self.items)

    def display(self) -> tuple[tuple[str, str], ...]:
        """Decoded and bounded, for people looking at a quarantined message."""
        return tuple(
            (clean_line(name), decode_words(value)[:MAX_DISPLAY_VALUE])
            for name, value in self.items[:MAX_DISPLAY_HEADERS]
        )


def decode_words(value: str) -> str:
    """RFC 2047 encoded words decoded, on one line; a wrong or unknown charset is repaired.

    Adjacent words in one charset are joined before decoding, so a character split between
    two words survives; undecodable words are kept as they came.
    """
    if "=?" not in value:
        return clean_line(value)
    pieces: list[str] = []
    run: list[tuple[str, str, str, str]] = []  # adjacent encoded words: charset, encoding, text, word
    position = 0
    for found in _ENCODED_WORD.finditer(value):
        between = value[position : found.start()]
        if between and not (run and between.isspace()):
            pieces.append(_decode_run(run))
            run = []
            pieces.append(between)
        charset, encoding, text = found.groups()
        run.append((charset.partition("*")[0].lower(), encoding.lower(), text, found.group()))
        position = found.end()
    pieces.append(_decode_run(run))
    pieces.append(value[position:])
    return clean_line("".join(pieces))


def _decode_run(run: list[tuple[str, str, str, str]]) -> str:
    decoded: list[str] = []
    start = 0
    for index in range(1, len(run) + 1):
        if index == len(run) or run[index][:2] != run[start][:2]:
            charset, encoding, _, _ = run[start]
            data = _word_bytes(encoding, [text for _, _, text, _ in run[start:index]])
            if data is None:
                decoded.append(" ".join(word for _, _, _, word in run[start:index]))
            else:
                decoded.append(fix_mojibake(decode_bytes(data, charset)))
            start = index
    return "".join(decoded)


def _word_bytes(encoding: str, texts: list[str]) -> bytes | None:
    try:
        if encoding == "q":
            return b"".join(binascii.a2b_qp(text.encode("ascii", "replace"), header=True) for text in texts)
        if all(len(text) % 4 == 0 for text in texts):
            return b"".join(_b64(text) for text in texts)
        return _b64("".join(texts))  # one base64 stream split at odd places
    except (binascii.Error, ValueError):
        return None


def _b64(text: str) -> bytes:
    cleaned = _NOT_BASE64.sub("", text.rstrip("="))
    if len(cleaned) != len(text.rstrip("=")):
        raise ValueError("not base64")
    cleaned = cleaned[: len(cleaned) - (len(cleaned) % 4 == 1)]
    return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4))


def message_id(value: str | None) -> str | None:
    """The first ``<id>`` of a Message-ID field; a bare ``local@domain`` gets its brackets."""
    if value is None:
        return None
    found = _MSG_ID.search(value)
    if found:
        return found.group()
    bare = value.strip()
    return f"<{bare}>" if _BARE_ID.fullmatch(bare) else None


def message_ids(values: Iterable[str]) -> list[str]:
    """Every ``<id>`` in In-Reply-To or References fields, in order, once each."""
    seen: dict[str, None] = {}
    for value in values:
        for found in _MSG_ID.findall(value):
            seen.setdefault(found, None)
    return list(seen)
