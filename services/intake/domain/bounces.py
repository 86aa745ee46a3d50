"""Bounces: which of our mails did not arrive, to whom, and whether it is worth trying again.

RFC 3464 reports (multipart/report; report-type=delivery-status) are read field by field.
Many servers still send plain text instead (Exim "Mail delivery failed", qmail "failure
notice", Exchange "Undeliverable" / "Unzustellbar" / "Kan ikke leveres", sendmail "Returned
mail"); those are recognised by subject, sender and wording, and read with patterns.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from services.intake.domain.addresses import normalise
from services.intake.domain.headers import RawHeaders, message_id
from shared.events.intake import Bounce

SCAN_CHARS = 100_000
MAX_DIAGNOSTIC = 1000
SYSTEM_LOCALS = ("mailer-daemon", "postmaster", "microsoftexchange", "mail-daemon")

_SUBJECT = re.compile(
    r"^\s*(?:undeliver|undelivered mail|mail delivery fail|delivery status notification|returned mail"
    r"|unzustellbar|nicht zustellbar|kan ikke leveres|kunne ikke leveres|ikke levert|ikke leveret"
    r"|kan inte levereras|olevererbart|onbestelbaar|non remis|non recapitabile|failure notice"
    r"|delivery failure|delivery has failed|message not delivered|mail system error|delivery delayed"
    r"|warning: could not send message|delayed mail|nondeliverable|delivery notification)",
    re.IGNORECASE,
)
_WORDING = re.compile(
    r"this is the mail system at host|i'm afraid i wasn't able to deliver|could not be delivered"
    r"|couldn't be delivered|wasn't delivered|was not delivered|delivery to the following recipient"
    r"|following address(?:es)? (?:failed|had permanent fatal errors)|unable to deliver|permanent error"
    r"|delivery has failed|kunne ikke leveres|ble ikke levert|konnte nicht zugestellt werden"
    r"|remote server returned|diagnostic information for administrators|message delivery failed",
    re.IGNORECASE,
)
_DELAYED = re.compile(
    r"\bdelay|temporar|will (?:be )?retr|will (?:continue|keep) trying|still (?:being )?retr|deferred"
    r"|not yet been delivered|still undelivered|warning message only|forsinket|verzögert"
    r"|could not send message for past",
    re.IGNORECASE,
)
# Where a copy of the returned message starts: codes and addresses below it are not the report's.
_COPY = re.compile(
    r"copy of the message|below this line is a copy|original message follows|original message headers"
    r"|undelivered message headers|-{3,} ?original message ?-{3,}",
    re.IGNORECASE,
)
_ENHANCED = re.compile(r"(?<![\d.])([245]\.\d{1,3}\.\d{1,3})(?![\d.])")
_SMTP_CODE = re.compile(r"(?<![\d.#])([45][0-5]\d)(?=[ -]\D)")
_ADDRESS = r"([^\s<>()\"',;:\[\]]+@[^\s<>()\"',;:\[\]]+)"
_RECIPIENT_PATTERNS = (
    re.compile(r"^[ \t>]*<" + _ADDRESS + r">", re.MULTILINE),  # Postfix, qmail, sendmail
    re.compile(r"^[ \t]+" + _ADDRESS + r"[ \t]*$", re.MULTILINE),  # Exim's indented address
    re.compile(r"^" + _ADDRESS + r"(?:[ \t]+\([^)]*\))?[ \t]*$", re.MULTILINE),  # Exchange
    re.compile(
        r"(?:message to|delivered to|deliver to|delivery to|recipient(?:s)?(?: address)?:?|rcpt to:?"
        r"|original-recipient:|final-recipient:(?:[ \t]*rfc822;)?|meldingen til|mottaker(?:en|e)?:?"
        r"|leveres til|levert til|empfänger:?|nachricht an|nicht an)[ \t]*<?" + _ADDRESS,
        re.IGNORECASE,
    ),
)
_QUOTED_MESSAGE_ID = re.compile(r"^[ \t>]*message-id:[ \t]*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Recipient:
    address: str | None
    action: str
    status: str | None
    diagnostic: str


def find_bounce(
    *,
    headers: RawHeaders,
    sender: str | None,
    text: str,
    reports: Sequence[str],
    returned: Sequence[RawHeaders],
) -> Bounce | None:
    """The bounce a message is, or None when it is not one."""
    recipients = [found for report in reports for found in dsn_recipients(report)]
    if not recipients and not _looks_like_bounce(headers, sender, text):
        return None
    original = _original_id(returned, text)
    if recipients:
        return _summarise(recipients, original)
    report = _COPY.split(text[:SCAN_CHARS], maxsplit=1)[0]
    return _from_text(report, headers.first("subject") or "", original, excluded=_excluded(headers, sender))


def _looks_like_bounce(headers: RawHeaders, sender: str | None, text: str) -> bool:
    subject = headers.first("subject") or ""
    local = (sender or "").rpartition("@")[0].strip('"').lower()
    system = local.startswith(SYSTEM_LOCALS) or any(v.strip() == "<>" for v in headers.all("return-path"))
    if _SUBJECT.match(subject):
        if system or any(v.strip().lower().startswith("auto-") for v in headers.all("auto-submitted")):
            return True
        # A person may write "Undeliverable parcel"; a server says how the delivery failed.
        head = text[:SCAN_CHARS]
        return bool(_WORDING.search(head) and (_ENHANCED.search(head) or _SMTP_CODE.search(head)))
    return system and bool(_WORDING.search(text[:SCAN_CHARS]))


def dsn_recipients(report: str) -> list[Recipient]:
    """The per-recipient fields of an RFC 3464 message/delivery-status body."""
    found: list[Recipient] = []
    for block in _field_blocks(report):
        if not {"final-recipient", "original-recipient", "action"} & block.keys():
            continue
        address = _typed_address(block.get("final-recipient") or block.get("original-recipient"))
        status_match = _ENHANCED.search(block.get("status", ""))
        status = status_match.group(1) if status_match else None
        action = block.get("action", "").split()[0].lower() if block.get("action", "").split() else ""
        diagnostic = _typed_value(block.get("diagnostic-code", ""))
        found.append(Recipient(address, action or _action_of(status), status, diagnostic))
    return found


def _field_blocks(report: str) -> list[dict[str, str]]:
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last: str | None = None
    for line in report.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            if current:
                blocks.append(current)
            current, last = {}, None
        elif line[0] in " \t" and last:
            current[last] += " " + line.strip()
        else:
            name, sep, value = line.partition(":")
            if sep:
                last = name.strip().lower()
                current.setdefault(last, value.strip())
    if current:
        blocks.append(current)
    return blocks


def _typed_value(value: str) -> str:
    """``rfc822; x`` or ``smtp; 550 ...``: the value without its type."""
    kind, sep, rest = value.partition(";")
    return rest.strip() if sep and " " not in kind.strip() else value.strip()


def _typed_address(value: str | None) -> str | None:
    if not value:
        return None
    address = _typed_value(value).strip("<> ")
    return normalise(address) or address.lower() or None


def _action_of(status: str | None) -> str:
    return {"2": "delivered", "4": "delayed"}.get((status or "5")[0], "failed")


def _summarise(recipients: list[Recipient], original: str | None) -> Bounce:
    chosen = [r for r in recipients if r.action == "failed"] or [
        r for r in recipients if r.action == "delayed"
    ]
    chosen = chosen or recipients
    first = chosen[0]
    addresses = list(dict.fromkeys(r.address for r in chosen if r.address))
    return Bounce(
        original_message_id=original,
        recipients=addresses,
        action=first.action,
        status=first.status,
        permanent=_permanent(first.action, first.status),
        diagnostic=first.diagnostic[:MAX_DIAGNOSTIC],
    )


def _permanent(action: str, status: str | None) -> bool:
    return (status or "").startswith("5") or (action == "failed" and not (status or "").startswith("4"))


def _original_id(returned: Sequence[RawHeaders], text: str) -> str | None:
    for headers in returned:
        found = message_id(headers.first("message-id"))
        if found:
            return found
    quoted = _QUOTED_MESSAGE_ID.search(text[: SCAN_CHARS * 2])
    return message_id(quoted.group(1)) if quoted else None


def _excluded(headers: RawHeaders, sender: str | None) -> set[str]:
    excluded = {sender} if sender else set()
    for field in ("to", "cc", "delivered-to", "x-original-to"):
        for value in headers.all(field):
            excluded.update(
                address for address in (normalise(a.strip("<> ")) for a in value.split(",")) if address
            )
    return excluded


def _from_text(report: str, subject: str, original: str | None, *, excluded: set[str]) -> Bounce:
    status, diagnostic = _status(report)
    delayed = bool(_DELAYED.search(subject) or _DELAYED.search(report)) and not (status or "").startswith("5")
    action = "delayed" if delayed else "failed"
    return Bounce(
        original_message_id=original,
        recipients=_text_recipients(report, excluded),
        action=action,
        status=status,
        permanent=_permanent(action, status),
        diagnostic=diagnostic[:MAX_DIAGNOSTIC],
    )


def _status(report: str) -> tuple[str | None, str]:
    enhanced = _ENHANCED.search(report)
    if enhanced:
        return enhanced.group(1), _line_at(report, enhanced.start())
    code = _SMTP_CODE.search(report)
    if code:
        return f"{code.group(1)[0]}.0.0", _line_at(report, code.start())
    wording = _WORDING.search(report)
    return None, _line_at(report, wording.start()) if wording else ""


def _line_at(text: str, position: int) -> str:
    start = text.rfind("\n", 0, position) + 1
    end = text.find("\n", position)
    return " ".join(text[start : end if end >= 0 else len(text)].split())


def _text_recipients(report: str, excluded: set[str]) -> list[str]:
    found: dict[str, None] = {}
    for pattern in _RECIPIENT_PATTERNS:
        for match in pattern.finditer(report):
            address = normalise(match.group(1).rstrip("."))
            local = (address or "").rpartition("@")[0].lower()
            if address and address not in excluded and not local.startswith(SYSTEM_LOCALS):
                found.setdefault(address, None)
    return list(found)
