"""The few header fields that routing and policies read straight from the raw bytes.

Pure: only the header block is read (up to the first empty line), never the body.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from email import policy
from email.parser import BytesParser

from services.intake.domain.addresses import mailboxes
from services.intake.domain.headers import RawHeaders, decode_words

MAX_HEADER_BYTES = 1024 * 1024
MAX_VALUE = 200
DELIVERY_FIELDS = ("delivered-to", "x-original-to")
# X-Allsak-<Field> -> the key in MessageReceived.trusted_headers (the names of Routing's fields).
ALLSAK_FIELDS = {
    "x-allsak-queue": "queue",
    "x-allsak-type": "type",
    "x-allsak-priority": "priority",
    "x-allsak-assignee": "assignee",
    "x-allsak-group": "group",
}

_END_OF_HEADER = re.compile(rb"\r?\n\r?\n")


def header_block(raw: bytes) -> RawHeaders:
    """The header fields of a raw message, in order; none when the bytes do not start with any."""
    end = _END_OF_HEADER.search(raw, 0, MAX_HEADER_BYTES)
    head = raw[: end.start()] if end else raw[:MAX_HEADER_BYTES]
    try:
        message = BytesParser(policy=policy.default).parsebytes(head, headersonly=True)
        return RawHeaders.of(message.raw_items())
    except Exception:  # hostile header bytes: routing then goes by what the channel said
        return RawHeaders(())


def delivery_addresses(headers: RawHeaders) -> list[str]:
    """Addresses of Delivered-To and X-Original-To (set by the delivering MTA), in order, once each."""
    return _unique(
        box.email for name in DELIVERY_FIELDS for value in headers.all(name) for box in mailboxes([value])
    )


def allsak_headers(headers: RawHeaders) -> dict[str, str]:
    """The X-Allsak-Queue/-Type/-Priority/-Assignee/-Group values present (first of each, one line)."""
    found: dict[str, str] = {}
    for field, key in ALLSAK_FIELDS.items():
        value = headers.first(field)
        text = decode_words(value)[:MAX_VALUE] if value is not None else ""
        if text:
            found[key] = text
    return found


def envelope_addresses(values: Iterable[str]) -> list[str]:
    """Recipients a channel named (``<a@b>`` or ``a@b``), lower case, once each."""
    return _unique(value.strip().strip("<>").strip().lower() for value in values if value and value.strip())


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(value for value in values if value))
