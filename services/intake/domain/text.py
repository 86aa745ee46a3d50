"""Text out of mail: charsets that never raise, control characters out, HTML to readable text."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from inscriptis import get_text
from inscriptis.css_profiles import CSS_PROFILES
from inscriptis.model.config import ParserConfig

from services.intake.domain.charsets import decode_bytes

__all__ = ["clean_line", "clean_text", "decode_bytes", "html_to_text", "repair_8bit", "tidy"]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACE = re.compile(r"\s+")
_INLINE_SPACE = re.compile(r"[ \t\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_HAS_TEXT = re.compile(r"(?:^|>)[^<>]*[^<>\s]")


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
    # The fallback when inscriptis fails (markup nested deeper than it can recurse); safe and readable.
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


# "strict": block elements are not indented by nesting depth, as the relaxed profile does.
_INSCRIPTIS = ParserConfig(css=CSS_PROFILES["strict"])


def html_to_text(html: str) -> str:
    """Readable text of an HTML body (inscriptis: tables, lists, hidden elements); never raises."""
    try:
        text = get_text(html, _INSCRIPTIS)
    except Exception:  # lxml and inscriptis give up on some hostile markup
        text = ""
    if not text.strip() and _HAS_TEXT.search(html):
        text = _simple_text(html)  # libxml2 drops documents nested deeper than 256 elements
    lines = (_INLINE_SPACE.sub(" ", line).rstrip() for line in text.split("\n"))
    return tidy("\n".join(lines))


def _simple_text(html: str) -> str:
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    return "\n".join(line.strip() for line in "".join(extractor.parts).split("\n"))
