"""Header fields as sent, and the small readers for the ones intake needs (ids, subjects)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from email import policy

from services.intake.domain.text import clean_line, repair_8bit

_FOLD = re.compile(r"\r?\n(?=[ \t])")
# Printable ASCII without the brackets: an id with anything else in it is not one we pass on.
_MSG_ID = re.compile(r"<[\x21-\x3b\x3d\x3f-\x7e]+>")
_BARE_ID = re.compile(r"[\x21-\x3b\x3d\x3f-\x7e]+@[\x21-\x3b\x3d\x3f-\x7e]+")

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
    """RFC 2047 encoded words decoded, on one line; undecodable words are kept as they came."""
    try:
        decoded = str(policy.default.header_factory("x-unstructured", value))
    except Exception:  # a hostile header must not stop the reading of the rest
        decoded = value
    return clean_line(decoded)


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
