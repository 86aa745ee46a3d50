"""Reading one raw RFC 5322 message: the summary the cases service needs, or why it cannot be had.

Pure: bytes in, a ``Parsed`` or a ``Rejected`` out, never an exception. The email package is
lenient and parses nearly anything, so the checks that make a message usable are ours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from typing import cast

from services.intake.domain.addresses import Mailbox, find_sender, mailboxes
from services.intake.domain.autoreply import is_auto_submitted
from services.intake.domain.headers import RawHeaders, decode_words, message_id, message_ids
from services.intake.domain.states import Problem, QuarantineReason
from services.intake.domain.text import clean_text, decode_bytes, html_to_text

MAX_SUBJECT = 2000
MAX_DETAIL = 1000

# A header field line (RFC 5322 field name, then a colon), optionally after an mbox "From " line.
_FIRST_LINE = re.compile(rb"(?:From [^\r\n]*\r?\n)?[\x21-\x39\x3b-\x7e]+[ \t]*:")


@dataclass(frozen=True)
class Limits:
    max_parts: int = 500
    max_depth: int = 20
    max_hops: int = 50
    max_body_chars: int = 100_000


@dataclass(frozen=True)
class Summary:
    """What could be read of the header, for the message record and the quarantine page."""

    sender_email: str | None = None
    sender_name: str | None = None
    subject: str | None = None
    message_id: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Parsed:
    sender: Mailbox
    subject: str
    text_body: str
    message_id: str | None
    in_reply_to: list[str]
    references: list[str]
    to: list[str]
    cc: list[str]
    auto_submitted: bool
    summary: Summary
    body_truncated: bool = False


@dataclass(frozen=True)
class Rejected:
    reason: QuarantineReason
    detail: str
    summary: Summary = field(default_factory=Summary)


def parse_message(raw: bytes, *, limits: Limits = Limits()) -> Parsed | Rejected:
    """Read a raw message; anything that is not a message with one clear sender is Rejected."""
    try:
        return _parse(raw, limits)
    except RecursionError:
        return Rejected(QuarantineReason.DEPTH_EXCEEDED, "MIME nesting too deep for the parser")
    except Exception as exc:  # hostile input must end in quarantine, never in a failed request
        return Rejected(QuarantineReason.PARSE_ERROR, f"{type(exc).__name__}: {exc}"[:MAX_DETAIL])


def _parse(raw: bytes, limits: Limits) -> Parsed | Rejected:
    if not _FIRST_LINE.match(raw):
        return Rejected(
            QuarantineReason.PARSE_ERROR, "no header section: the data does not start with a header field"
        )
    message = cast(EmailMessage, BytesParser(policy=policy.default).parsebytes(raw))
    headers = RawHeaders.of(message.raw_items())
    if not headers:
        return Rejected(QuarantineReason.PARSE_ERROR, "no header fields could be read")
    sender = find_sender(headers)
    summary = _summary(headers, sender)
    problem = _check_limits(message, headers, limits) or sender
    if isinstance(problem, Problem):
        return Rejected(problem.reason, problem.detail, summary)
    sender = problem
    text, truncated = _text_body(message, limits.max_body_chars)
    return Parsed(
        sender=sender,
        subject=summary.subject or "",
        text_body=text,
        message_id=summary.message_id,
        in_reply_to=message_ids(headers.all("in-reply-to")),
        references=message_ids(headers.all("references")),
        to=[box.email for box in mailboxes(headers.all("to"))],
        cc=[box.email for box in mailboxes(headers.all("cc"))],
        auto_submitted=is_auto_submitted(headers, sender.email),
        summary=summary,
        body_truncated=truncated,
    )


def _summary(headers: RawHeaders, sender: Mailbox | Problem) -> Summary:
    subject = headers.first("subject")
    return Summary(
        sender_email=sender.email if isinstance(sender, Mailbox) else None,
        sender_name=sender.name if isinstance(sender, Mailbox) else None,
        subject=decode_words(subject)[:MAX_SUBJECT] if subject is not None else None,
        message_id=message_id(headers.first("message-id")),
        headers=headers.display(),
    )


def _check_limits(message: Message, headers: RawHeaders, limits: Limits) -> Problem | None:
    hops = len(headers.all("received"))
    if hops > limits.max_hops:
        return Problem(
            QuarantineReason.LOOP_SUSPECTED, f"{hops} Received fields; more than {limits.max_hops} is a loop"
        )
    # Walk without recursion: the depth is what is being checked.
    stack: list[tuple[Message, int]] = [(message, 0)]
    count = 0
    while stack:
        part, depth = stack.pop()
        count += 1
        if count > limits.max_parts:
            return Problem(QuarantineReason.TOO_MANY_PARTS, f"more than {limits.max_parts} MIME parts")
        if depth > limits.max_depth:
            return Problem(
                QuarantineReason.DEPTH_EXCEEDED, f"MIME parts nested deeper than {limits.max_depth}"
            )
        payload = part.get_payload() if part.is_multipart() else None
        if isinstance(payload, list):
            stack.extend((child, depth + 1) for child in payload if isinstance(child, Message))
    return None


def _text_body(message: EmailMessage, max_chars: int) -> tuple[str, bool]:
    body = message.get_body(preferencelist=("plain", "html"))
    if body is None:
        return "", False
    payload = body.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return "", False
    text = decode_bytes(payload, body.get_content_charset())
    # Plain text keeps its spacing (a "-- " signature line, format=flowed); HTML is reflowed.
    text = html_to_text(text) if body.get_content_subtype() == "html" else clean_text(text).strip("\n")
    return text[:max_chars], len(text) > max_chars
