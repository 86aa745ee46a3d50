"""Text out of mail: charsets that never raise, control characters out, a small HTML-to-text."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACE = re.compile(r"\s+")
_INLINE_SPACE = re.compile(r"[ \t\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_FALLBACK = "cp1252"
_ASCII_LABELS = frozenset({"us-ascii", "ascii", "ansi_x3.4-1968", "646"})


def decode_bytes(payload: bytes, charset: str | None) -> str:
    """Text in the declared charset, else UTF-8, else Windows-1252; bad bytes become U+FFFD."""
    label = (charset or "").strip().strip('"').lower()
    if label and label not in _ASCII_LABELS:
        try:
            return payload.decode(label, errors="replace")
        except Exception:  # unknown labels, and non-text codecs such as "rot13", fall through
            pass
    # Undeclared, unknown or "us-ascii" (often a lie): UTF-8 if it is valid, else the usual Western one.
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return payload.decode(_FALLBACK, errors="replace")


def repair_8bit(value: str) -> str:
    """Undo the email package's surrogate escapes of raw 8-bit header bytes."""
    if not any("\udc80" <= ch <= "\udcff" for ch in value):
        return value
    return decode_bytes(value.encode("utf-8", "surrogateescape"), None)


def clean_text(value: str) -> str:
    """No NUL or other control characters (PostgreSQL refuses NUL); line breaks kept."""
    return _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


def clean_line(value: str) -> str:
    """One line, whitespace runs collapsed: for subjects, names and header values."""
    return _SPACE.sub(" ", _CONTROL.sub("", value)).strip()


def tidy(text: str) -> str:
    """Trailing spaces off, at most one blank line in a row, no blank start or end."""
    lines = [line.rstrip() for line in clean_text(text).split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip("\n")


class _TextExtractor(HTMLParser):
    # Replaced by inscriptis in a later issue; this only has to be safe and readable.
    _SKIP = frozenset({"script", "style", "head", "title", "template", "noscript", "svg"})
    _BLOCK = frozenset(
        {
            "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "footer",
            "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "ol", "p", "pre",
            "section", "table", "tr", "ul",
        }
    )  # fmt: skip

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self._skip = 0  # an unclosed <head> must not swallow the body
        elif tag in self._SKIP:
            self._skip += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")
            if tag == "li":
                self.parts.append("- ")
            elif tag == "pre":
                self._pre += 1
        elif tag == "td" or tag == "th":
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n")
            if tag == "pre":
                self._pre = max(0, self._pre - 1)

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data if self._pre else _SPACE.sub(" ", data))


def html_to_text(html: str) -> str:
    """Readable text of an HTML body: no markup, no scripts or styles, entities decoded."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    lines = (_INLINE_SPACE.sub(" ", line).strip() for line in "".join(extractor.parts).split("\n"))
    return tidy("\n".join(lines))
