"""Messages inside messages: forwarded or returned mail (message/rfc822), and the field blocks
of a delivery report (message/delivery-status), read out of the email package's tree."""

from __future__ import annotations

import base64
import binascii
import quopri
import re
from email import policy
from email.message import Message
from email.parser import BytesParser

from services.intake.domain.charsets import decode_bytes
from services.intake.domain.headers import RawHeaders, decode_words

SUMMARY_FIELDS = ("From", "Date", "Subject", "To", "Cc")
MAX_STEM = 100

# The raw header values are written back as they came; refolding could change them.
_GENERATE = policy.default.clone(refold_source="none")


def payload(part: Message) -> bytes:
    """The decoded bytes of a leaf; the raw text when the transfer encoding cannot be undone."""
    try:
        data = part.get_payload(decode=True)
    except Exception:  # a broken transfer encoding
        data = None
    if isinstance(data, bytes):
        return data
    found = part.get_payload()
    if isinstance(found, str):
        return found.encode("utf-8", "surrogateescape")
    if isinstance(found, list) and found and isinstance(found[0], Message):
        return as_bytes(found[0])
    return b""


def as_bytes(message: Message) -> bytes:
    try:
        return message.as_bytes(policy=_GENERATE)
    except Exception:  # the generator refuses some hostile headers; the text will do
        try:
            return message.as_string(policy=_GENERATE).encode("utf-8", "surrogateescape")
        except Exception:
            return b""


def inner_message(part: Message) -> tuple[Message | None, bytes]:
    """The message a message/rfc822 part holds, and its bytes to keep."""
    found = part.get_payload()
    inner = found[0] if isinstance(found, list) and found and isinstance(found[0], Message) else None
    data = as_bytes(inner) if inner is not None else payload(part)
    encoding = str(part.get("content-transfer-encoding", "")).strip().lower()
    if encoding in ("base64", "quoted-printable"):
        # Not allowed for message/rfc822 but sent anyway: the parser took the encoded text for a body.
        encoded = inner.get_payload() if inner is not None else data.decode("ascii", "replace")
        data = _undo_transfer_encoding(str(encoded), encoding)
        inner = None
    if inner is None and data.strip():
        inner = BytesParser(policy=policy.default).parsebytes(data)
    return inner, data


def _undo_transfer_encoding(text: str, encoding: str) -> bytes:
    raw = text.encode("ascii", "replace")
    if encoding == "quoted-printable":
        return quopri.decodestring(raw)
    cleaned = re.sub(rb"[^A-Za-z0-9+/]", b"", raw)
    cleaned = cleaned[: len(cleaned) - (len(cleaned) % 4 == 1)]
    try:
        return base64.b64decode(cleaned + b"=" * (-len(cleaned) % 4))
    except binascii.Error:
        return raw


def summary(headers: RawHeaders) -> str:
    """From, Date, Subject, To and Cc of an embedded message, one per line, for search."""
    return "\n".join(
        f"{name}: {decode_words(value)}" for name in SUMMARY_FIELDS for value in headers.all(name)[:1]
    )


def eml_name(message: Message | None) -> str:
    """A file name for a forwarded message that came without one: its subject."""
    subject = decode_words(str(message.get("subject", ""))) if message is not None else ""
    stem = " ".join(re.sub(r'[\\/:*?"<>|]+', " ", subject).split())[:MAX_STEM].strip()
    return f"{stem or 'message'}.eml"


def report_text(part: Message) -> str:
    """The text of a message/delivery-status part, which the parser splits into field blocks."""
    found = part.get_payload()
    if isinstance(found, list):
        blocks = (
            "\n".join(f"{name}: {value}" for name, value in block.raw_items())
            for block in found
            if isinstance(block, Message)
        )
        return "\n\n".join(blocks)
    return decode_bytes(payload(part), None)


def header_block(data: bytes) -> RawHeaders:
    """The fields of a text/rfc822-headers part."""
    return RawHeaders.of(BytesParser(policy=policy.default).parsebytes(data, headersonly=True).raw_items())
