"""Which case an inbound mail belongs to, and why.

A mail joins an existing case when its subject carries our case tag (``[Sak#10023]``), or
when In-Reply-To/References name a Message-ID that we received or sent on a case. Otherwise
it starts a new case. The decision carries its reason, which is stored on the article.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class KnownMessage:
    case_number: int
    description: str


@dataclass(frozen=True)
class ThreadDecision:
    case_number: int | None
    reason: str

    @property
    def is_new_case(self) -> bool:
        return self.case_number is None


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
) -> ThreadDecision:
    """Thread a mail: subject tag of an existing case first, then referenced Message-IDs."""
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
    unknown = [n for n in tagged_numbers(subject, tag) if n not in existing_numbers]
    if unknown:
        return ThreadDecision(None, f"subject tag {format_tag(tag, unknown[0])} names no case: new case")
    return ThreadDecision(None, "no match: new case")
