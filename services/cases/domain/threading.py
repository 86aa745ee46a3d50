"""Which case an inbound mail belongs to, and why.

A mail joins an existing case when its subject carries our case tag (``[Sak#10023]``), when
In-Reply-To/References name a Message-ID that we received or sent on a case, or when the
partner reference that the mailbox's pattern found (``INC0012345``) is one a case carries.
Otherwise it starts a new case. The decision carries its reason, which is stored on the article.

Closed cases: a mail that threads to a case with status ``closed`` reopens it when the case
was closed fewer than ``reopen_within`` ago; later it starts a follow-up case linked to the
old one (or joins that case's follow-up while the follow-up is not closed, so that a thread
answered again and again makes one follow-up, not many). A ``resolved`` case is not closed:
the agent is waiting for the customer to confirm, so a reply always reopens it. Automatic mail
(an out-of-office answer) joins the case it names and neither reopens nor starts anything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import lru_cache

from services.cases.domain.statuses import Status


@dataclass(frozen=True)
class KnownMessage:
    case_number: int
    description: str


@dataclass(frozen=True)
class ThreadDecision:
    case_number: int | None
    reason: str
    follow_up_of: int | None = None

    @property
    def is_new_case(self) -> bool:
        return self.case_number is None


@dataclass(frozen=True)
class CaseState:
    """What the closed-case rule needs to know of the case a mail threads to."""

    number: int
    status: str
    closed_at: datetime | None
    open_follow_up: int | None = None


@lru_cache(maxsize=16)
def tag_pattern(tag: str) -> re.Pattern[str]:
    return re.compile(rf"\[\s*{re.escape(tag)}\s*#\s*(\d{{1,12}})\s*\]", re.IGNORECASE)


def format_tag(tag: str, number: int | str) -> str:
    return f"[{tag}#{number}]"


def tagged_numbers(subject: str, tag: str) -> list[int]:
    """Case numbers named by tags in the subject, in order of appearance."""
    return [int(m.group(1)) for m in tag_pattern(tag).finditer(subject or "")]


def referenced_ids(in_reply_to: Sequence[str], references: Sequence[str]) -> list[str]:
    """Message-IDs a reply names, nearest first: In-Reply-To, then References from the end."""
    seen: set[str] = set()
    ordered: list[str] = []
    for message_id in [*in_reply_to, *reversed(references)]:
        key = message_id.strip()
        if key and key not in seen:
            seen.add(key)
            ordered.append(key)
    return ordered


def decide(
    *,
    subject: str,
    tag: str,
    existing_numbers: set[int],
    in_reply_to: Sequence[str],
    references: Sequence[str],
    known_messages: Mapping[str, KnownMessage],
    partner_reference: str | None = None,
    known_references: Mapping[str, int] | None = None,
) -> ThreadDecision:
    """Thread a mail: subject tag of an existing case, then referenced Message-IDs, then the
    partner's reference; our own markers come first because they name our case exactly."""
    for number in tagged_numbers(subject, tag):
        if number in existing_numbers:
            return ThreadDecision(number, f"subject tag {format_tag(tag, number)}")
    for message_id in referenced_ids(in_reply_to, references):
        known = known_messages.get(message_id)
        if known is not None:
            header = "In-Reply-To" if message_id in in_reply_to else "References"
            return ThreadDecision(
                known.case_number, f"{header} {message_id} = {known.description} of case {known.case_number}"
            )
    if partner_reference and known_references and partner_reference in known_references:
        return ThreadDecision(known_references[partner_reference], f"partner reference {partner_reference}")
    unknown = [n for n in tagged_numbers(subject, tag) if n not in existing_numbers]
    if unknown:
        return ThreadDecision(None, f"subject tag {format_tag(tag, unknown[0])} names no case: new case")
    return ThreadDecision(None, "no match: new case")


def follow_merges(decision: ThreadDecision, merged_into: Mapping[int, int]) -> ThreadDecision:
    """A mail about a merged case goes to the case it was merged into (and on, if that one was
    merged too): the conversation lives on there. ``merged_into`` maps case → survivor."""
    number, seen = decision.case_number, []
    while number is not None and number in merged_into and number not in seen:
        seen.append(number)
        number = merged_into[number]
    if not seen:
        return decision
    chain = " → ".join(str(n) for n in [*seen, number])
    return replace(decision, case_number=number, reason=f"{decision.reason}; merged: {chain}")


def closed_ago(delta: timedelta) -> str:
    days = max(delta.days, 0)
    if days == 0:
        return "less than a day ago"
    return "1 day ago" if days == 1 else f"{days} days ago"


def after_close(
    decision: ThreadDecision,
    *,
    case: CaseState,
    now: datetime,
    reopen_within: timedelta,
    automatic: bool = False,
) -> ThreadDecision:
    """Apply the closed-case rule to a decision that names ``case``.

    A case closed before ``closed_at`` was recorded counts as closed just now: reopening it is
    the old behaviour and never starts a case the agent did not expect.
    """
    if decision.case_number != case.number or case.status != Status.CLOSED.value:
        return decision
    age = now - case.closed_at if case.closed_at is not None else timedelta(0)
    ago = closed_ago(age)
    if automatic:
        return ThreadDecision(
            case.number, f"{decision.reason}; case {case.number} closed {ago}: automatic mail, not reopened"
        )
    if age < reopen_within:
        return ThreadDecision(case.number, f"{decision.reason}; case {case.number} closed {ago}: reopened")
    if case.open_follow_up is not None:
        return ThreadDecision(
            case.open_follow_up,
            f"reply to case {case.number}, closed {ago}: joins its follow-up case {case.open_follow_up}",
        )
    return ThreadDecision(
        None, f"reply to case {case.number}, closed {ago}: follow-up case", follow_up_of=case.number
    )
