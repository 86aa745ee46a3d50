"""Delivery status notifications (bounces) of mail we sent: which mail, and what to tell the agent.

A bounce never becomes a case and is never answered. It is matched to the case of the mail
that bounced by that mail's Message-ID (from the DSN, else the bounce's own In-Reply-To and
References); the agent gets an internal note, in Norwegian (bokmål) and English.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.cases.domain.threading import referenced_ids

SEPARATOR = "----------------------------------------"


@dataclass(frozen=True)
class BounceFacts:
    recipients: Sequence[str]
    action: str
    status: str | None
    permanent: bool
    diagnostic: str


def normalise_message_id(value: str | None) -> str | None:
    """``<id@host>`` with angle brackets, or None for an empty value."""
    text = (value or "").strip()
    if not text:
        return None
    return text if text.startswith("<") else f"<{text.strip('<>')}>"


def candidate_ids(original: str | None, in_reply_to: Sequence[str], references: Sequence[str]) -> list[str]:
    """Message-IDs that may name the bounced mail, surest first."""
    first = normalise_message_id(original)
    rest = [i for i in referenced_ids(in_reply_to, references) if i != first]
    return [first, *rest] if first else rest


def marks_undeliverable(facts: BounceFacts) -> bool:
    """Only a permanent failure says an address is gone; a delay or a full mailbox may pass."""
    return facts.permanent and facts.action == "failed"


def undeliverable_reason(facts: BounceFacts) -> str:
    parts = [facts.status or "", " ".join(facts.diagnostic.split())]
    return (" ".join(p for p in parts if p) or "permanent delivery failure")[:500]


def _recipients(facts: BounceFacts) -> str:
    return ", ".join(facts.recipients) or "?"


def _status(facts: BounceFacts, permanent: str, temporary: str) -> str:
    kind = permanent if facts.permanent else temporary
    return f"status {facts.status}, {kind}" if facts.status else kind


def _bokmal(facts: BounceFacts, concerning: str) -> list[str]:
    to = _recipients(facts)
    if facts.action == "delayed":
        head = f"E-posten til {to} er forsinket; mottakerserveren prøver igjen ({_status(facts, 'permanent feil', 'midlertidig')})."
    elif facts.action in ("delivered", "relayed", "expanded"):
        head = f"Leveringsrapport for e-posten til {to}: {facts.action}."
    else:
        head = (
            f"E-posten til {to} kunne ikke leveres ({_status(facts, 'permanent feil', 'midlertidig feil')})."
        )
    lines = [head, f"Gjelder: {concerning}."]
    if marks_undeliverable(facts):
        lines.append("Adressen er merket som ikke leverbar; automatiske svar til den stanses.")
    if facts.diagnostic.strip():
        lines.append(f"Melding fra mottakerserveren: {' '.join(facts.diagnostic.split())}")
    return lines


def _english(facts: BounceFacts, concerning: str) -> list[str]:
    to = _recipients(facts)
    if facts.action == "delayed":
        head = f"The mail to {to} is delayed; the receiving server keeps trying ({_status(facts, 'permanent failure', 'temporary')})."
    elif facts.action in ("delivered", "relayed", "expanded"):
        head = f"Delivery report for the mail to {to}: {facts.action}."
    else:
        head = f"The mail to {to} could not be delivered ({_status(facts, 'permanent failure', 'temporary failure')})."
    lines = [head, f"Concerns: {concerning}."]
    if marks_undeliverable(facts):
        lines.append("The address is marked undeliverable; automatic replies to it stop.")
    if facts.diagnostic.strip():
        lines.append(f"Message from the receiving server: {' '.join(facts.diagnostic.split())}")
    return lines


def delivery_failure_note(facts: BounceFacts, *, concerning: str) -> str:
    """The internal note on the case: bokmål first, then English, as our acknowledgements."""
    return "\n".join([*_bokmal(facts, concerning), "", SEPARATOR, "", *_english(facts, concerning)]) + "\n"
