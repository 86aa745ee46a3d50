"""HTTP models of routing rules and group assignment.

What the shapes alone decide is checked here (422 from pydantic, naming the field); what needs
the database (does the queue exist?) is checked by ``service``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from services.cases.rules import domain, turns
from services.cases.schemas import KEY_PATTERN

Channel = Literal["mail", "api", "phone", "portal"]
Priority = Literal["low", "normal", "high", "critical"]
Level = Literal["high", "medium", "low"]
Scalar = str | int | float | bool
FieldKey = Annotated[str, Field(min_length=1, max_length=60)]
Domain = Annotated[str, BeforeValidator(lambda v: domain.normalise_domain(v) if isinstance(v, str) else v)]
Id = Annotated[str, Field(min_length=1, max_length=100)]


def _non_empty(name: str, values: list[Any] | None) -> list[Any] | None:
    if values is not None and not values:
        raise ValueError(f"give at least one {name}, or leave the condition out")
    return values


class RuleWords(BaseModel):
    model_config = ConfigDict(extra="forbid")

    any: list[str] = Field(
        max_length=100, description="Whole words or phrases, any of which matches; case-insensitive"
    )
    subject_only: bool = Field(default=False, description="Look in the subject only, not the body")

    @field_validator("any")
    @classmethod
    def _words(cls, value: list[str]) -> list[str]:
        words = [domain.normalise_word(word) for word in value]
        if not words:
            raise ValueError("give at least one word to look for")
        if "" in words:
            raise ValueError("a word to look for is blank: remove it or write the word")
        if too_long := [w for w in words if len(w) > 100]:
            raise ValueError(f"a word to look for is longer than 100 characters: {too_long[0][:20]}…")
        return list(dict.fromkeys(words))


class RuleConditions(BaseModel):
    """All conditions given must match; leave out what does not matter."""

    model_config = ConfigDict(extra="forbid")

    channel: list[Channel] | None = None
    mailbox: list[Id] | None = Field(default=None, description="Ids of intake mailboxes")
    requester_domain: list[Annotated[Domain, Field(min_length=1, max_length=253)]] | None = Field(
        default=None, description="Mail domains of the requester; subdomains match too"
    )
    organisation: list[Id] | None = Field(default=None, description="Ids of organisations")
    type: list[Annotated[str, Field(min_length=1, max_length=60)]] | None = None
    fields: dict[FieldKey, Scalar | list[Scalar]] | None = Field(
        default=None, description="Custom field key → the value it must have, or a list of any it may have"
    )
    words: RuleWords | None = None

    @field_validator("channel", "mailbox", "requester_domain", "organisation", "type")
    @classmethod
    def _listed(cls, value: list[Any] | None, info: ValidationInfo) -> list[Any] | None:
        return _non_empty(info.field_name or "value", value)

    @field_validator("fields")
    @classmethod
    def _fields(cls, value: dict[str, Any] | None) -> dict[str, list[Any]] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("give at least one field, or leave the condition out")
        listed = {key: v if isinstance(v, list) else [v] for key, v in value.items()}
        for key, values in listed.items():
            if not values:
                raise ValueError(f"field {key}: give at least one value")
        return listed


class RuleActions(BaseModel):
    """What the rule sets on the case; at least one."""

    model_config = ConfigDict(extra="forbid")

    type: str | None = Field(default=None, min_length=1, max_length=60, description="A case type key")
    queue: str | None = Field(default=None, min_length=1, max_length=100, pattern=KEY_PATTERN)
    group: str | None = Field(default=None, min_length=1, max_length=100, pattern=KEY_PATTERN)
    assignee: EmailStr | None = Field(default=None, description="Email of an active user")
    priority: Priority | None = None
    impact: Level | None = None
    urgency: Level | None = None
    fields: dict[FieldKey, Scalar | list[Scalar]] | None = Field(
        default=None, description="Custom field values, merged into the case's fields"
    )

    @model_validator(mode="after")
    def _something(self) -> RuleActions:
        if not self.model_dump(exclude_none=True, exclude={"fields"}) and not self.fields:
            raise ValueError(
                "a rule must set at least one of type, queue, group, assignee, priority, impact, urgency, fields"
            )
        return self


class RuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="Shown on the cases the rule routes")
    active: bool = True
    position: int | None = Field(default=None, ge=0, le=1_000_000, description="Default: after the last")
    conditions: RuleConditions = Field(default_factory=RuleConditions)
    actions: RuleActions
    stop: bool = Field(default=False, description="When this rule fires, evaluate no later rules")


class RuleUpdate(BaseModel):
    """Conditions and actions are replaced as a whole when given."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    active: bool | None = None
    position: int | None = Field(default=None, ge=0, le=1_000_000)
    conditions: RuleConditions | None = None
    actions: RuleActions | None = None
    stop: bool | None = None


class RuleRead(BaseModel):
    id: str
    position: int
    name: str
    active: bool
    conditions: dict[str, Any]
    actions: dict[str, Any]
    stop: bool
    created_at: datetime
    updated_at: datetime


class RuleList(BaseModel):
    items: list[RuleRead]


class TryFacts(BaseModel):
    """A new case as it would be registered; nothing is stored."""

    model_config = ConfigDict(extra="forbid")

    channel: Channel = "api"
    mailbox_id: str | None = Field(default=None, max_length=100)
    requester_email: EmailStr
    organisation_id: str | None = Field(
        default=None, max_length=100, description="Default: the requester's, as registration finds it"
    )
    subject: str = Field(min_length=1, max_length=500)
    body_text: str = Field(default="", max_length=1_000_000)
    type: str | None = Field(default=None, max_length=60, description="Default: the default type")
    queue: str | None = Field(default=None, max_length=100, description="Default: the default queue")
    group: str | None = Field(default=None, max_length=100)
    assignee: str | None = Field(default=None, max_length=200)
    priority: Priority | None = Field(default=None, description="Default: the default priority")
    impact: Level | None = None
    urgency: Level | None = None
    fields: dict[FieldKey, Any] = Field(default_factory=dict)
    include_inactive: bool = Field(default=False, description="Evaluate inactive rules too (to test one)")


class RuleHit(BaseModel):
    rule: str
    name: str
    reason: str
    actions: dict[str, Any]


class RoutedValues(BaseModel):
    type: str | None
    queue: str | None
    group: str | None
    assignee: str | None
    priority: str | None
    impact: str | None
    urgency: str | None
    fields: dict[str, Any]


class TryResult(BaseModel):
    hits: list[RuleHit]
    result: RoutedValues


class AssignmentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: turns.Method


class AssignmentRead(BaseModel):
    group_id: str
    group_key: str
    method: turns.Method
    labels: dict[str, str] = Field(description="The method's name in English (en) and bokmål (nb)")
    last_user_id: str | None = None
    last_assigned_at: datetime | None = None
