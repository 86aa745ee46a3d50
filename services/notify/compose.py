"""The mail rules of notify, pure: who is acknowledged, the exact message they get, and retries.

No I/O and no clock: ``now`` is passed in. The message is built with ``email.message.EmailMessage``
under ``policy.SMTP`` (CRLF, RFC 2047 encoded headers, quoted-printable UTF-8 text), so the bytes
stored in ``outgoing_mail.raw`` are the bytes that go out.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Literal

from shared.events.cases import CaseCreated

ACKNOWLEDGEMENT = "acknowledgement"
_KIND_PREFIX = {ACKNOWLEDGEMENT: "ack"}
_MSGID = re.compile(r"^<[^<>\s]+>$")
_ATEXT_UNSAFE = re.compile(r"[^A-Za-z0-9-]")
MAX_REFERENCES = 20

# RFC 3834 section 2 and common practice: mailboxes that are machines, where an
# automatic answer is at best noise and at worst the start of a mail loop.
_MACHINE_LOCAL_PARTS = frozenset(
    {
        "mailer-daemon",
        "postmaster",
        "noreply",
        "no-reply",
        "no_reply",
        "donotreply",
        "do-not-reply",
        "do_not_reply",
        "bounce",
        "bounces",
    }
)


@dataclass(frozen=True)
class Composed:
    """A finished message and the envelope it travels in."""

    message: EmailMessage
    rfc_message_id: str
    sender: str
    recipients: list[str]
    subject: str

    @property
    def raw(self) -> bytes:
        return self.message.as_bytes()


def parse_address(value: str) -> Address | None:
    """Exactly one well-formed mailbox (IDN domains in punycode), or None."""
    try:
        header = policy.default.header_factory("To", value)
    except Exception:  # the stdlib parser raises assorted errors on hostile input ("x@": IndexError)
        return None
    addresses: tuple[Address, ...] = getattr(header, "addresses", ())
    if header.defects or len(addresses) != 1:
        return None
    address: Address = addresses[0]
    if not address.username or not address.domain:
        return None
    try:
        domain = address.domain.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    return Address(display_name=address.display_name, username=address.username, domain=domain)


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def normalise_message_id(value: str | None) -> str | None:
    """``<id@host>`` with angle brackets, or None when it is not a usable Message-ID."""
    text = (value or "").strip()
    if not text:
        return None
    if not text.startswith("<"):
        text = f"<{text}>"
    return text if _MSGID.match(text) else None


def message_id(kind: str, case_number: str, *, domain: str) -> str:
    """The Message-ID of the ``kind`` mail of a case: the same every time, so a re-send reuses it."""
    prefix = _KIND_PREFIX.get(kind, _ATEXT_UNSAFE.sub("-", kind))
    number = _ATEXT_UNSAFE.sub("-", case_number)
    digest = hashlib.sha256(f"{kind}\n{case_number}\n{domain}".encode()).hexdigest()[:10]
    return f"<{prefix}.{number}.{digest}@{domain}>"


def subject_tag(tag: str, number: str) -> str:
    return f"[{tag}#{number}]"


def acknowledgement_subject(tag: str, number: str, original: str) -> str:
    """``[Sak#10023] original``; the tag is not doubled when the subject already carries it."""
    marker = subject_tag(tag, number)
    subject = _one_line(original) or "(uten emne / no subject)"
    return subject if marker in subject else f"{marker} {subject}"


def references(source_references: Iterable[str], source_message_id: str | None) -> list[str]:
    """The parent's References then its Message-ID (RFC 5322 3.6.4), de-duplicated and capped.

    A long thread keeps its root and the newest ids, as mail clients trim it.
    """
    chain: list[str] = []
    for candidate in [*source_references, source_message_id]:
        msgid = normalise_message_id(candidate)
        if msgid and msgid not in chain:
            chain.append(msgid)
    if len(chain) > MAX_REFERENCES:
        chain = [chain[0], *chain[-(MAX_REFERENCES - 1) :]]
    return chain


def sender_for(queue: str, queue_senders: Mapping[str, str], default: str) -> str:
    """The From of a queue's mail: its own address if configured, else the default sender."""
    return queue_senders.get(queue) or default


def acknowledgement_refusal(event: CaseCreated, *, own_addresses: Iterable[str] = ()) -> str | None:
    """Why this case gets no acknowledgement, or None when it gets one.

    Cases sets ``suppress_auto_reply`` for auto-submitted or bulk mail and for addresses a bounce
    marked undeliverable; it is checked again here, with the mailboxes that are machines and our
    own addresses (a loop), compared as mailboxes (case and +subaddress ignored).
    """
    if event.channel != "mail":
        return f"channel {event.channel} is not mail"
    if event.suppress_auto_reply:
        return "source was auto-submitted or bulk mail"
    address = parse_address(event.requester.email)
    if address is None:
        return "requester address is not a usable mail address"
    local = address.username.lower()
    if local in _MACHINE_LOCAL_PARTS or local.startswith("owner-") or local.endswith("-request"):
        return f"requester {address.addr_spec} is a machine mailbox"
    if mailbox_key(address.addr_spec) in {mailbox_key(own) for own in own_addresses}:
        return f"requester {address.addr_spec} is one of our own addresses"
    return None


def mailbox_key(address: str) -> str:
    """An address as the mailbox it reaches: lower case, no +subaddress (support+x@ is support@)."""
    local, at, domain = address.strip().lower().rpartition("@")
    if not at:
        return address.strip().lower()
    return f"{local.split('+', 1)[0] or local}@{domain.rstrip('.')}"


def should_acknowledge(event: CaseCreated, *, own_addresses: Iterable[str] = ()) -> bool:
    """Only mail from a person is acknowledged, never auto-submitted or bulk mail."""
    return acknowledgement_refusal(event, own_addresses=own_addresses) is None


def acknowledgement_body(event: CaseCreated, *, tag: str, signature: str) -> str:
    """Bokmål first, then English."""
    marker = subject_tag(tag, event.number)
    name = _one_line(event.requester.name)
    subject = _one_line(event.subject) or "-"
    return (
        f"Hei{' ' + name if name else ''},\n\n"
        f"Vi har mottatt henvendelsen din og registrert den som sak {event.number}. "
        "Vi svarer så snart vi kan.\n\n"
        "Vil du legge til noe, svarer du bare på denne e-posten. "
        f"Behold {marker} i emnefeltet, så havner svaret i samme sak.\n\n"
        f"Emne: {subject}\n\n"
        f"Med vennlig hilsen\n{signature}\n\n"
        "----------------------------------------\n\n"
        f"Hello{' ' + name if name else ''},\n\n"
        f"We have received your request and registered it as case {event.number}. "
        "We will get back to you as soon as we can.\n\n"
        "If you want to add anything, just reply to this email. "
        f"Keep {marker} in the subject so that your reply joins the same case.\n\n"
        f"Subject: {subject}\n\n"
        f"Kind regards\n{signature}\n"
    )


def compose_acknowledgement(
    event: CaseCreated, *, tag: str, sender: str, domain: str, now: datetime
) -> Composed:
    """The acknowledgement of a new case, threaded under the mail that created it (RFC 3834 reply)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    from_address = parse_address(sender)
    to_address = parse_address(event.requester.email)
    if from_address is None or to_address is None:
        raise ValueError("sender and requester must be single mail addresses")
    to = Address(
        display_name=_one_line(event.requester.name) or to_address.display_name,
        username=to_address.username,
        domain=to_address.domain,
    )
    msgid = message_id(ACKNOWLEDGEMENT, event.number, domain=domain)
    subject = acknowledgement_subject(tag, event.number, event.subject)

    message = EmailMessage(policy=policy.SMTP)
    message["From"] = from_address
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = msgid
    parent = normalise_message_id(event.source_message_id)
    if parent:
        message["In-Reply-To"] = parent
    chain = references(event.source_references, event.source_message_id)
    if chain:
        message["References"] = " ".join(chain)
    # RFC 3834: marks this as an automatic answer, so that other responders stay quiet;
    # X-Auto-Response-Suppress does the same for Exchange. No Precedence: this is a reply.
    message["Auto-Submitted"] = "auto-replied"
    message["X-Auto-Response-Suppress"] = "All"
    message["X-Allsak-Case"] = event.number
    signature = from_address.display_name or "Allsak"
    message.set_content(
        acknowledgement_body(event, tag=tag, signature=signature), charset="utf-8", cte="quoted-printable"
    )
    return Composed(
        message=message,
        rfc_message_id=msgid,
        sender=from_address.addr_spec,
        recipients=[to.addr_spec],
        subject=subject,
    )


def retry_delay(attempts: int, *, base_seconds: float, max_seconds: float) -> timedelta:
    """Exponential backoff: ``base`` after the first failed attempt, doubling, capped."""
    return timedelta(seconds=min(base_seconds * 2 ** min(max(attempts - 1, 0), 60), max_seconds))


def after_failure(*, attempts: int, max_attempts: int, permanent: bool) -> Literal["retry", "failed"]:
    """A permanent failure, or the last allowed attempt failing, ends the mail as failed."""
    return "failed" if permanent or attempts >= max_attempts else "retry"
