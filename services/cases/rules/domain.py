"""Routing rules, free of I/O: which rules fire on a new case, why, and what they leave it with.

Every rule is evaluated against the case **as it was registered** (the facts), not against what
earlier rules changed: the result does not depend on how rules happen to chain, and the reason
a rule gives is true of the case the requester sent. Rules fire in order of position; the
actions of every hit are applied in that order, so a later hit overrides an earlier one value by
value (custom fields merge key by key). A hit with ``stop`` ends the evaluation: nothing after it
can override it.

All conditions given must match; a condition left out does not count. A rule without conditions
always fires (a catch-all at the end of the list).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from services.cases.domain.customers import address_domain

CHANNELS = ("mail", "api", "phone", "portal")
# The case attributes a rule may set besides custom fields, in the order reasons and results name them.
SETTABLE = ("type", "queue", "group", "assignee", "priority", "impact", "urgency")


@dataclass(frozen=True)
class Words:
    """Any of ``any`` as a whole word (or phrase), case-insensitively, in the subject or body."""

    any: tuple[str, ...]
    subject_only: bool = False


@dataclass(frozen=True)
class Conditions:
    channel: tuple[str, ...] | None = None
    mailbox: tuple[str, ...] | None = None
    requester_domain: tuple[str, ...] | None = None
    organisation: tuple[str, ...] | None = None
    type: tuple[str, ...] | None = None
    # Field key → the values it may have (any of them).
    fields: Mapping[str, tuple[Any, ...]] | None = None
    words: Words | None = None


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    conditions: Conditions
    # What the rule sets: keys of SETTABLE and "fields" (a map merged into the case's fields).
    actions: Mapping[str, Any]
    stop: bool = False


@dataclass(frozen=True)
class Facts:
    """What a new case came with: what rules look at."""

    channel: str
    requester_email: str
    subject: str
    body: str = ""
    type: str | None = None
    mailbox_id: str | None = None
    organisation_id: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Hit:
    rule: str
    name: str
    reason: str
    actions: Mapping[str, Any]
    stop: bool = False

    def as_record(self) -> dict[str, Any]:
        """The shape ``case.routing`` keeps and the API shows."""
        return {"rule": self.rule, "name": self.name, "reason": self.reason, "actions": dict(self.actions)}


@dataclass(frozen=True)
class Values:
    """The routing values of a case, before or after the rules."""

    type: str | None = None
    queue: str | None = None
    group: str | None = None
    assignee: str | None = None
    priority: str | None = None
    impact: str | None = None
    urgency: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)


def normalise_domain(domain: str) -> str:
    """``@Kunde.NO.`` → ``kunde.no``: domains are listed the way organisations list them."""
    return domain.strip().lower().lstrip("@").rstrip(".")


def normalise_word(word: str) -> str:
    return " ".join(word.split())


def conditions_from(stored: Mapping[str, Any]) -> Conditions:
    """Conditions as ``schemas.RuleConditions`` stores them (validated when the rule was written)."""

    def listed(name: str) -> tuple[str, ...] | None:
        values = stored.get(name)
        return tuple(values) if values is not None else None

    fields = stored.get("fields")
    words = stored.get("words")
    return Conditions(
        channel=listed("channel"),
        mailbox=listed("mailbox"),
        requester_domain=listed("requester_domain"),
        organisation=listed("organisation"),
        type=listed("type"),
        fields={k: tuple(v) for k, v in fields.items()} if fields is not None else None,
        words=Words(tuple(words["any"]), bool(words.get("subject_only"))) if words is not None else None,
    )


def evaluate(rules: Iterable[Rule], facts: Facts) -> list[Hit]:
    """The rules that fire, in order, each with the reason it fired; evaluation ends at a ``stop``."""
    hits: list[Hit] = []
    for rule in rules:
        reasons = match(rule.conditions, facts)
        if reasons is None:
            continue
        reason = "; ".join(reasons) if reasons else "always (no conditions)"
        hits.append(Hit(rule.id, rule.name, reason, dict(rule.actions), rule.stop))
        if rule.stop:
            break
    return hits


def apply(values: Values, hits: Sequence[Hit]) -> Values:
    """``values`` with the actions of each hit applied in order: later hits win, fields merge."""
    for hit in hits:
        changes = {name: hit.actions[name] for name in SETTABLE if name in hit.actions}
        fields = {**values.fields, **hit.actions.get("fields", {})}
        values = replace(values, **changes, fields=fields)
    return values


# Each check answers None (not asked), False (does not match) or the phrase saying why it matches.
Check = str | Literal[False] | None


def match(conditions: Conditions, facts: Facts) -> list[str] | None:
    """Why every condition given matches (one phrase each), or None when one does not."""
    reasons: list[str] = []
    checks = (
        _one_of("channel", conditions.channel, facts.channel),
        _one_of("mailbox", conditions.mailbox, facts.mailbox_id),
        _domain(conditions, facts),
        _one_of("organisation", conditions.organisation, facts.organisation_id),
        _one_of("type", conditions.type, facts.type),
        _fields(conditions, facts),
        _words(conditions, facts),
    )
    for check in checks:
        if check is None:
            continue
        if check is False:
            return None
        reasons.append(check)
    return reasons


def _one_of(name: str, wanted: Sequence[str] | None, value: str | None) -> Check:
    if wanted is None:
        return None
    if value is None or value not in wanted:
        return False
    return f"{name} is {value}"


def _domain(conditions: Conditions, facts: Facts) -> Check:
    if conditions.requester_domain is None:
        return None
    domain = address_domain(facts.requester_email)
    for listed in conditions.requester_domain:
        if domain == listed:
            return f"requester domain is {domain}"
        if domain.endswith("." + listed):
            return f"requester domain {domain} is under {listed}"
    return False


def _fields(conditions: Conditions, facts: Facts) -> Check:
    if conditions.fields is None:
        return None
    phrases = []
    for key, wanted in conditions.fields.items():
        found = _field_match(facts.fields.get(key), wanted)
        if found is None:
            return False
        phrases.append(f"field {key} is {found!r}")
    return "; ".join(phrases)


def _field_match(value: Any, wanted: Sequence[Any]) -> Any:
    """The value that matched one of ``wanted``; a multi-select matches by any of its options."""
    candidates = value if isinstance(value, list) else [value]
    for candidate in candidates:
        if candidate is not None and any(_same(candidate, w) for w in wanted):
            return candidate
    return None


def _same(a: Any, b: Any) -> bool:
    # True == 1 in Python; a yes/no field must not match the number 1.
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    return bool(a == b)


def _words(conditions: Conditions, facts: Facts) -> Check:
    words = conditions.words
    if words is None:
        return None
    places = [("subject", facts.subject)] + ([] if words.subject_only else [("body", facts.body)])
    for place, text in places:
        folded = text.casefold()
        for word in words.any:
            if word_pattern(word).search(folded):
                return f"{place} has {word!r}"
    return False


@functools.lru_cache(maxsize=1024)
def word_pattern(word: str) -> re.Pattern[str]:
    """A whole word or phrase, case-insensitive; ``\\w`` is Unicode, so æ, ø and å are letters
    and "faktura" is not found in "fakturaen"."""
    parts = [re.escape(part) for part in normalise_word(word).casefold().split(" ")]
    return re.compile(r"(?<!\w)" + r"\s+".join(parts) + r"(?!\w)")
