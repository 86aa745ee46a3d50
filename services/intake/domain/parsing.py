"""Reading one raw RFC 5322 message: the summary the cases service needs, or why it cannot be had.

Pure: bytes in, a ``Parsed`` or a ``Rejected`` out, never an exception. The email package is
lenient and parses nearly anything, so the checks that make a message usable are ours. The
extras (sanitised HTML, reply text, bounce) each fail alone: a message whose bounce report
cannot be read is still a message, with a note saying so.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import BytesParser
from functools import cached_property
from typing import TypeVar

from services.intake.domain import mime
from services.intake.domain.addresses import Mailbox, find_sender, mailboxes
from services.intake.domain.autoreply import BOUNCE_REASON, auto_reason
from services.intake.domain.bounces import find_bounce
from services.intake.domain.headers import RawHeaders, decode_words, message_id, message_ids
from services.intake.domain.html import ATTACHMENT_URL, cid_key, sanitise
from services.intake.domain.parts import Kind, Part
from services.intake.domain.quotes import reply_text
from services.intake.domain.states import Problem, QuarantineReason
from shared.events.intake import Bounce

T = TypeVar("T")

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
    """A readable message. ``text_body`` is the whole text (plain parts, else the HTML's text),
    cut at ``max_body_chars``; ``reply_text`` the part above the first quote (None when nothing
    is quoted); ``parts`` the files, inline images, forwarded messages, invites and unread
    alternatives to store; ``html`` the sanitised HTML (UTF-8) to store; ``notes`` what could
    not be read and was left out or kept as it came."""

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
    parts: tuple[Part, ...] = ()
    html: bytes | None = field(default=None, repr=False)
    reply_text: str | None = None
    forwarded_text: str = ""
    auto_reason: str | None = None
    bounce: Bounce | None = None
    notes: tuple[str, ...] = ()

    @cached_property
    def html_sha256(self) -> str | None:
        """The blob name of the sanitised HTML, when there is one."""
        return hashlib.sha256(self.html).hexdigest() if self.html is not None else None


@dataclass(frozen=True)
class Rejected:
    reason: QuarantineReason
    detail: str
    summary: Summary = field(default_factory=Summary)


def parse_message(
    raw: bytes, *, limits: Limits = Limits(), attachment_url: str = ATTACHMENT_URL
) -> Parsed | Rejected:
    """Read a raw message; anything that is not a message with one clear sender is Rejected.

    ``attachment_url`` (with ``{sha256}``) is where the sanitised HTML's inline images point.
    """
    try:
        return _parse(raw, limits, attachment_url)
    except RecursionError:
        return Rejected(QuarantineReason.DEPTH_EXCEEDED, "MIME nesting too deep for the parser")
    except Exception as exc:  # hostile input must end in quarantine, never in a failed request
        return Rejected(QuarantineReason.PARSE_ERROR, f"{type(exc).__name__}: {exc}"[:MAX_DETAIL])


def _parse(raw: bytes, limits: Limits, attachment_url: str) -> Parsed | Rejected:
    if not _FIRST_LINE.match(raw):
        return Rejected(
            QuarantineReason.PARSE_ERROR, "no header section: the data does not start with a header field"
        )
    message = BytesParser(policy=policy.default).parsebytes(raw)
    headers = RawHeaders.of(message.raw_items())
    if not headers:
        return Rejected(QuarantineReason.PARSE_ERROR, "no header fields could be read")
    sender = find_sender(headers)
    summary = _summary(headers, sender)
    problem = _check_limits(message, headers, limits) or sender
    if isinstance(problem, Problem):
        return Rejected(problem.reason, problem.detail, summary)
    sender = problem
    content = mime.read(message, max_parts=limits.max_parts)
    if len(content.parts) > limits.max_parts:
        return Rejected(
            QuarantineReason.TOO_MANY_PARTS,
            f"{len(content.parts)} parts kept (attachments in winmail.dat and uuencoded files count); "
            f"more than {limits.max_parts}",
            summary,
        )
    return _parsed(headers, sender, summary, content, limits, attachment_url)


def _parsed(
    headers: RawHeaders,
    sender: Mailbox,
    summary: Summary,
    content: mime.Content,
    limits: Limits,
    attachment_url: str,
) -> Parsed:
    notes = list(content.notes)
    text = mime.body_text(content)
    cut = limits.max_body_chars
    bounce = _safely(notes, "bounce", None, lambda: _bounce(headers, sender, text, content))
    reply = _safely(notes, "reply", None, lambda: reply_text(text))
    html = _safely(notes, "html", None, lambda: _html(content, attachment_url))
    reason = BOUNCE_REASON if bounce is not None else auto_reason(headers, sender.email)
    return Parsed(
        sender=sender,
        subject=summary.subject or "",
        text_body=text[:cut],
        message_id=summary.message_id,
        in_reply_to=message_ids(headers.all("in-reply-to")),
        references=message_ids(headers.all("references")),
        to=[box.email for box in mailboxes(headers.all("to"))],
        cc=[box.email for box in mailboxes(headers.all("cc"))],
        auto_submitted=reason is not None,
        summary=summary,
        body_truncated=len(text) > cut,
        parts=tuple(content.parts),
        html=html,
        reply_text=reply[:cut] if reply is not None else None,
        forwarded_text="\n\n".join(content.forwarded)[:cut],
        auto_reason=reason,
        bounce=bounce,
        notes=tuple(notes),
    )


def _safely(notes: list[str], what: str, default: T, compute: Callable[[], T]) -> T:
    try:
        return compute()
    except Exception as exc:  # RecursionError included: an extra is not worth the message
        notes.append(f"{what}: {type(exc).__name__}: {exc}"[:MAX_DETAIL])
        return default


def _bounce(headers: RawHeaders, sender: Mailbox, text: str, content: mime.Content) -> Bounce | None:
    return find_bounce(
        headers=headers, sender=sender.email, text=text, reports=content.reports, returned=content.returned
    )


def _html(content: mime.Content, attachment_url: str) -> bytes | None:
    html = mime.body_html(content)
    if html is None:
        return None
    images = {
        cid_key(part.content_id): attachment_url.replace("{sha256}", part.sha256)
        for part in content.parts
        if part.content_id and part.kind in (Kind.INLINE_IMAGE, Kind.FILE)
    }
    return sanitise(html, images=images).encode("utf-8")


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
