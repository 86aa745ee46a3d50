"""Addresses from header fields: strict parsing, and who the sender of a message is."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import getaddresses

from services.intake.domain.headers import RawHeaders, decode_words
from services.intake.domain.states import Problem, QuarantineReason

SENDER_FIELDS = ("from", "reply-to", "sender", "return-path")
MAX_NAME = 200

_LOCAL = re.compile(r"[^\s\x00-\x1f\x7f()<>\[\]\\,;:]+|\"[^\"\\\r\n]*\"")
_DOMAIN = re.compile(r"[^\s\x00-\x1f\x7f()<>\[\]\\,;:@\"]+")


@dataclass(frozen=True)
class Mailbox:
    email: str
    name: str | None = None

    @property
    def local_part(self) -> str:
        return self.email.rpartition("@")[0]


def strict_getaddresses(values: Sequence[str]) -> list[tuple[str, str]]:
    """``email.utils.getaddresses(values, strict=True)`` as Python 3.13 does it, on every Python.

    The lenient parser splices addresses out of malformed fields (CVE-2023-27043, e.g.
    ``alice@example.org)<bob@example.org>``); a field that does not parse cleanly gives
    ``[("", "")]`` here instead. Python 3.11.7 has no ``strict`` argument.
    """
    if not all(_balanced_parentheses(value) for value in values):
        return [("", "")]
    result = getaddresses(list(values))
    if any("[" in address for _, address in result):
        return [("", "")]  # a correct domain literal would have been parsed; a "[" left means failure
    expected = sum(1 + _strip_quoted(value).count(",") for value in values)
    return result if len(result) == expected else [("", "")]


def _escaped_chars(value: str) -> list[tuple[int, str]]:
    chars: list[tuple[int, str]] = []
    escape = False
    for pos, ch in enumerate(value):
        if escape:
            chars.append((pos, "\\" + ch))
            escape = False
        elif ch == "\\":
            escape = True
        else:
            chars.append((pos, ch))
    return chars


def _strip_quoted(value: str) -> str:
    if '"' not in value:
        return value
    kept: list[str] = []
    start, open_at = 0, None
    for pos, ch in _escaped_chars(value):
        if ch != '"':
            continue
        if open_at is None:
            open_at = pos
        else:
            kept.append(value[start:open_at])
            start, open_at = pos + 1, None
    kept.append(value[start:])
    return "".join(kept)


def _balanced_parentheses(value: str) -> bool:
    depth = 0
    for _, ch in _escaped_chars(_strip_quoted(value)):
        depth += ch == "("
        depth -= ch == ")"
        if depth < 0:
            return False
    return depth == 0


def normalise(address: str) -> str | None:
    """``local@domain`` with the domain in lower case, or None when it is not a usable address."""
    local, at, domain = address.strip().rpartition("@")
    if not at or not _LOCAL.fullmatch(local) or not _DOMAIN.fullmatch(domain):
        return None
    if domain.startswith(".") or domain.endswith(".") or ".." in domain:
        return None
    return f"{local}@{domain.lower()}"


def mailboxes(values: Sequence[str]) -> list[Mailbox]:
    """The usable addresses of the fields, once each, in order; unparseable fields give none."""
    found: dict[str, Mailbox] = {}
    for name, address in strict_getaddresses(values):
        email = normalise(address)
        if email and email not in found:
            found[email] = Mailbox(email=email, name=decode_words(name)[:MAX_NAME] or None)
    return list(found.values())


def find_sender(headers: RawHeaders) -> Mailbox | Problem:
    """From, else Reply-To, Sender, Return-Path: the first field that names exactly one address.

    Several From addresses are resolved by a Sender among them, as RFC 5322 intends; otherwise
    guessing could open a case in the wrong person's name, so the message waits for a human.
    """
    for field in SENDER_FIELDS:
        values = headers.all(field)
        if not values:
            continue
        found = mailboxes(values)
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            chosen = _sender_among(headers, found) if field == "from" else None
            if chosen:
                return chosen
            listed = ", ".join(box.email for box in found[:5])
            return Problem(
                QuarantineReason.AMBIGUOUS_SENDER, f"{field} names {len(found)} addresses: {listed}"
            )
    return Problem(QuarantineReason.NO_SENDER, "no usable address in From, Reply-To, Sender or Return-Path")


def _sender_among(headers: RawHeaders, candidates: list[Mailbox]) -> Mailbox | None:
    sender = mailboxes(headers.all("sender"))
    if len(sender) != 1:
        return None
    return next((box for box in candidates if box.email == sender[0].email), None)
