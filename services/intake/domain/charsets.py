"""Bytes to text when the declared charset cannot be trusted: never raises, repairs what it can.

Mail declares charsets wrongly all the time: Outlook says iso-8859-1 and sends Windows-1252
quotes, web forms say us-ascii or nothing and send UTF-8 or Windows-1252, old gateways say
UTF-8 and send Latin-1. Guessing uses charset-normalizer, biased towards Windows-1252: on
short text it cannot tell the Western code pages apart, and Norwegian senders use that one.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

FALLBACK = "cp1252"
SAMPLE_BYTES = 64 * 1024
SHORT_TEXT = 16  # letters; too few for any detector, so the Western guess stands
WESTERN_SHARE = 0.3  # at most this share of the letters of Western European text is 8-bit
_WESTERN = frozenset({"cp1252", "iso8859-1", "latin_1", "iso8859_15", "iso8859-15"})
_ASCII = frozenset({"ascii", "us-ascii", "ansi_x3.4-1968", "646", "us", "ascii7"})
_ALIASES = {
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    "ks_c_5601-1987": "cp949",
    "x-sjis": "shift_jis",
    "windows-31j": "cp932",
    "gb2312": "gbk",
    "x-gbk": "gbk",
    "x-user-defined": FALLBACK,
}
# Text codecs that turn mail into something else than its text.
_REFUSED = frozenset({"unicode_escape", "raw_unicode_escape", "punycode", "idna"})
# Codecs whose text is (or can be) all ASCII bytes: the ASCII shortcut does not apply to them.
_NOT_ASCII_COMPATIBLE = ("utf-16", "utf-32", "utf-7", "iso2022", "hz")
_SINGLE_BYTE = ("cp1", "cp4", "cp8", "iso8859", "latin", "koi8", "mac", "tis", "hp", "kz", "ptcp")
_C1 = re.compile(rb"[\x80-\x9f]")

# UTF-8 read as Windows-1252 (or Latin-1): a lead byte's character followed by continuation
# characters, e.g. "Ã¸" for "ø" or "â€™" for "’".
_CONTINUATION = "".join(bytes([b]).decode("cp1252", "ignore") or chr(b) for b in range(0x80, 0xC0))
_LEAD2 = "".join(chr(b) for b in range(0xC2, 0xE0))
_LEAD3 = "".join(chr(b) for b in range(0xE0, 0xF0))
_MOJIBAKE = re.compile(
    f"[{_LEAD2}][{re.escape(_CONTINUATION)}]|[{_LEAD3}][{re.escape(_CONTINUATION)}]{{2}}"
    f"|[\u00f0-\u00f4][{re.escape(_CONTINUATION)}]{{3}}"
)


def codec_for(charset: str | None) -> str | None:
    """The Python codec of a declared label; None for none, ASCII (often a lie) or unusable ones."""
    label = (charset or "").strip().strip("\"'").lower()
    label = _ALIASES.get(label, label)
    if not label or label in _ASCII:
        return None
    try:
        name = codecs.lookup(label).name
    except (LookupError, ValueError):
        return None
    if name in _REFUSED or not _is_text_codec(name):
        return None
    return name


def _is_text_codec(name: str) -> bool:
    try:
        b"a".decode(name)
    except Exception:  # bytes-to-bytes codecs such as base64_codec or rot13
        return False
    return True


def decode_bytes(payload: bytes, charset: str | None) -> str:
    """Text of ``payload``: the declared charset when it fits, else a repaired or guessed one."""
    codec = codec_for(charset)
    if payload.isascii() and not (codec and codec.startswith(_NOT_ASCII_COMPATIBLE)):
        return payload.decode("ascii")
    if codec is None:
        return guess(payload)
    try:
        text = payload.decode(codec)
    except UnicodeDecodeError:
        return _repair_failed(payload, codec)
    except Exception:  # a codec that fails in other ways is a wrong label
        return guess(payload)
    if codec.startswith(_SINGLE_BYTE) and _is_utf8(payload):
        return payload.decode("utf-8")  # declared Latin-1 and the like, sent as UTF-8
    if codec == "iso8859-1" and _C1.search(payload):
        return payload.decode(FALLBACK, errors="replace")  # C1 controls are Windows-1252 quotes
    return fix_mojibake(text)


def _is_utf8(payload: bytes) -> bool:
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _repair_failed(payload: bytes, codec: str) -> str:
    if codec == "utf-8":
        text = payload.decode("utf-8", errors="replace")
        if any(ch > "\x7f" and ch != "\ufffd" for ch in text):
            return text  # real UTF-8 with some broken bytes (code pages never look like UTF-8)
        return guess(payload)
    return payload.decode(codec, errors="replace")


def guess(payload: bytes) -> str:
    """Undeclared or wrongly declared 8-bit: UTF-8 when valid, else the likeliest code page."""
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        pass
    return payload.decode(detect(payload[:SAMPLE_BYTES]), errors="replace")


def detect(sample: bytes) -> str:
    """The likeliest codec of 8-bit text that is not UTF-8; Windows-1252 wins every tie."""
    if _looks_western(sample):
        return FALLBACK
    try:
        matches = list(from_bytes(sample))
    except Exception:  # the detector must not stop the reading of a message
        return FALLBACK
    if not matches:
        return FALLBACK
    best = matches[0]
    for match in matches:
        if match.encoding in _WESTERN and match.chaos <= best.chaos + 0.05:
            return FALLBACK
    return str(best.encoding)


def _looks_western(sample: bytes) -> bool:
    """Windows-1252 text has few 8-bit letters among ASCII ones ("Søknad", "Blåbær"); Cyrillic,
    Greek or Japanese read as Windows-1252 is mostly 8-bit, and their detection needs the detector."""
    text = sample.decode(FALLBACK, errors="replace")
    if "\ufffd" in text:
        return False
    letters = sum(1 for ch in text if ch.isalpha())
    high = sum(1 for ch in text if ch > "\x7f")
    return letters < SHORT_TEXT or high <= WESTERN_SHARE * letters


def fix_mojibake(text: str) -> str:
    """Undo UTF-8 that was decoded as Windows-1252 or Latin-1 somewhere on the way ("Ã¸" → "ø")."""
    if not _MOJIBAKE.search(text):
        return text
    return _MOJIBAKE.sub(_unmangle, text)


def _unmangle(found: re.Match[str]) -> str:
    chars = found.group()
    try:
        raw = b"".join(_cp1252_byte(ch) for ch in chars)
        return raw.decode("utf-8")
    except (UnicodeError, ValueError):
        return chars


def _cp1252_byte(ch: str) -> bytes:
    try:
        return ch.encode("cp1252")
    except UnicodeEncodeError:
        return ch.encode("latin-1")
