"""Case types as a department configures them, free of I/O.

A case type has custom fields (each perhaps mandatory from a stage on), statuses in categories,
allowed transitions between them, optionally an impact × urgency priority matrix, and forms per
channel. A case whose type has no configuration row is of the **built-in** type: the six
categories are its statuses, any transition is allowed, it has no custom fields and its
priority is set directly.

Labels are ``{"en": ..., "nb": ...}`` everywhere: types, fields, options, statuses, templates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from services.cases.domain.statuses import Category

Labels = Mapping[str, str]


class Stage(StrEnum):
    """From when a field is mandatory: registration, resolving (or closing), closing."""

    CREATE = "create"
    RESOLVE = "resolve"
    CLOSE = "close"


STAGE_RANK = {Stage.CREATE: 0, Stage.RESOLVE: 1, Stage.CLOSE: 2}


def stage_of(category: str) -> Stage:
    """The stage a case in ``category`` has reached: closed cases have passed resolving too."""
    if category == Category.CLOSED.value:
        return Stage.CLOSE
    if category == Category.RESOLVED.value:
        return Stage.RESOLVE
    return Stage.CREATE


class FieldKind(StrEnum):
    TEXT = "text"
    LONG_TEXT = "long_text"
    NUMBER = "number"
    DATE = "date"
    BOOLEAN = "boolean"
    SELECT = "select"
    MULTI_SELECT = "multi_select"
    USER = "user"
    CUSTOMER = "customer"
    ASSET = "asset"


WITH_OPTIONS = frozenset({FieldKind.SELECT, FieldKind.MULTI_SELECT})
# Kinds whose values name a row (a user, a customer, an asset): the service checks it exists.
REFERENCES = frozenset({FieldKind.USER, FieldKind.CUSTOMER, FieldKind.ASSET})

LEVELS = ("high", "medium", "low")
PRIORITIES = ("low", "normal", "high", "critical")
CHANNELS = ("agent", "portal")
# Categories every configured type needs a status of: where cases start, are worked, end.
REQUIRED_CATEGORIES = (Category.NEW, Category.OPEN, Category.RESOLVED, Category.CLOSED)
# A type changed to one without waiting statuses puts its waiting cases here.
CATEGORY_FALLBACK = {
    Category.WAITING_FOR_CUSTOMER.value: Category.OPEN.value,
    Category.WAITING_FOR_THIRD_PARTY.value: Category.OPEN.value,
}

# The usual ITIL matrix, impact → urgency → priority; a type configures its own.
ITIL_MATRIX: Mapping[str, Mapping[str, str]] = {
    "high": {"high": "critical", "medium": "high", "low": "normal"},
    "medium": {"high": "high", "medium": "normal", "low": "low"},
    "low": {"high": "normal", "medium": "low", "low": "low"},
}

CATEGORY_LABELS: Mapping[str, Labels] = {
    Category.NEW.value: {"en": "New", "nb": "Ny"},
    Category.OPEN.value: {"en": "Open", "nb": "Åpen"},
    Category.WAITING_FOR_CUSTOMER.value: {"en": "Waiting for customer", "nb": "Venter på kunde"},
    Category.WAITING_FOR_THIRD_PARTY.value: {"en": "Waiting for third party", "nb": "Venter på tredjepart"},
    Category.RESOLVED.value: {"en": "Resolved", "nb": "Løst"},
    Category.CLOSED.value: {"en": "Closed", "nb": "Lukket"},
}


@dataclass(frozen=True)
class Option:
    key: str
    labels: Labels


@dataclass(frozen=True)
class FieldDef:
    key: str
    labels: Labels
    kind: FieldKind
    options: tuple[Option, ...] = ()
    mandatory_at: Stage | None = None

    @property
    def label(self) -> str:
        return self.labels.get("en") or self.key

    def option_keys(self) -> list[str]:
        return [option.key for option in self.options]


@dataclass(frozen=True)
class StatusDef:
    key: str
    labels: Labels
    category: str


BUILT_IN_STATUSES = tuple(StatusDef(c.value, CATEGORY_LABELS[c.value], c.value) for c in Category)


@dataclass(frozen=True)
class TypeDef:
    key: str
    labels: Labels
    department: str | None = None
    active: bool = True
    fields: tuple[FieldDef, ...] = ()
    statuses: tuple[StatusDef, ...] = BUILT_IN_STATUSES
    # Status → the statuses it may change to; a status not named may change to any.
    transitions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Impact → urgency → priority; None: the priority is set directly.
    matrix: Mapping[str, Mapping[str, str]] | None = None
    default_impact: str | None = None
    default_urgency: str | None = None
    # Channel → field keys in order; a channel not named shows every field.
    forms: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # False for the built-in type of a key that has no configuration row.
    configured: bool = True

    @property
    def label(self) -> str:
        return self.labels.get("en") or self.key

    def field(self, key: str) -> FieldDef | None:
        return next((f for f in self.fields if f.key == key), None)

    def status(self, key: str) -> StatusDef | None:
        return next((s for s in self.statuses if s.key == key), None)

    def status_keys(self) -> list[str]:
        return [s.key for s in self.statuses]

    def allows(self, current: str, target: str) -> bool:
        allowed = self.transitions.get(current)
        return allowed is None or target in allowed

    def allowed_after(self, current: str) -> list[str]:
        allowed = self.transitions.get(current)
        return [s.key for s in self.statuses if s.key != current and (allowed is None or s.key in allowed)]

    def first_status(self, category: str, *, after: str | None = None) -> str | None:
        """The first status of ``category`` (that ``after`` may change to, when given)."""
        for status in self.statuses:
            if status.category == category and (after is None or self.allows(after, status.key)):
                return status.key
        return None

    def priority_for(self, impact: str | None, urgency: str | None) -> str | None:
        if self.matrix is None or impact is None or urgency is None:
            return None
        return self.matrix.get(impact, {}).get(urgency)

    def mandatory_up_to(self, stage: Stage) -> list[FieldDef]:
        """The fields mandatory at ``stage`` or at an earlier one."""
        rank = STAGE_RANK[stage]
        return [f for f in self.fields if f.mandatory_at is not None and STAGE_RANK[f.mandatory_at] <= rank]

    def form(self, channel: str) -> list[FieldDef]:
        keys = self.forms.get(channel)
        if keys is None:
            return list(self.fields)
        return [f for key in keys if (f := self.field(key)) is not None]


def built_in(key: str) -> TypeDef:
    """The type of a key with no configuration: how cases behaved before types were configured."""
    return TypeDef(key=key, labels={"en": key, "nb": key}, configured=False)


def present(value: Any) -> bool:
    """Whether a stored value counts as given; ``False`` and ``0`` do."""
    return value is not None and value != "" and value != []


@dataclass(frozen=True)
class Problem:
    """Something wrong with a value or a setting: where (a field key or a path) and what."""

    field: str
    message: str


class ChangeRefused(ValueError):
    """A change or registration the case type does not allow. ``fields`` are the mandatory fields
    that are missing (``missing``: their keys), ``problems`` the values or keys that are wrong,
    ``allowed`` the statuses a refused transition could have gone to."""

    def __init__(
        self,
        message: str,
        *,
        missing: list[str] | None = None,
        fields: Sequence[FieldDef] = (),
        problems: Sequence[Problem] = (),
        allowed: Sequence[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fields = list(fields)
        self.missing = list(missing) if missing is not None else [f.key for f in fields]
        self.problems = list(problems)
        self.allowed = list(allowed) if allowed is not None else None


def naming(fields: Sequence[FieldDef]) -> str:
    return ", ".join(f"{f.label} ({f.key})" for f in fields)


def invalid(problems: Sequence[Problem]) -> ChangeRefused:
    return ChangeRefused("; ".join(f"{p.field}: {p.message}" for p in problems), problems=problems)
