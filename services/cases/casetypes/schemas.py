"""HTTP models of case types, forms and templates. Labels are ``{"en": ..., "nb": ...}``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.cases.casetypes.domain import CATEGORY_LABELS, ChangeRefused, FieldKind, Stage
from services.cases.domain.statuses import Category
from services.cases.schemas import PersonIn

TYPE_KEY = r"^[a-z0-9][a-z0-9_.-]{0,59}$"
FIELD_KEY = r"^[a-z][a-z0-9_]{0,49}$"
STATUS_KEY = r"^[a-z][a-z0-9_]{0,39}$"
OPTION_KEY = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
TEMPLATE_KEY = r"^[a-z0-9][a-z0-9_.-]{0,99}$"

Level = Literal["high", "medium", "low"]
Priority = Literal["low", "normal", "high", "critical"]
Channel = Literal["agent", "portal"]


class Labels(BaseModel):
    model_config = ConfigDict(extra="forbid")

    en: str = Field(min_length=1, max_length=200)
    nb: str = Field(min_length=1, max_length=200)


class OptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=OPTION_KEY, description="What a case stores when the option is chosen")
    labels: Labels


class FieldIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=FIELD_KEY, description="Lower case, digits, _; a case stores the value by it")
    labels: Labels
    kind: FieldKind
    options: list[OptionIn] = Field(default_factory=list, description="Of select and multi_select")
    mandatory_at: Stage | None = Field(default=None, description="create, resolve, close, or null: never")


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=STATUS_KEY)
    labels: Labels
    category: Category


def built_in_statuses() -> list[StatusIn]:
    return [StatusIn(key=c.value, labels=Labels(**CATEGORY_LABELS[c.value]), category=c) for c in Category]


Matrix = dict[Level, dict[Level, Priority]]


class CaseTypeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=TYPE_KEY, description="What cases store in ``type``")
    labels: Labels
    department: str = Field(min_length=1, max_length=100)
    active: bool = True
    fields: list[FieldIn] = Field(default_factory=list, max_length=200)
    statuses: list[StatusIn] = Field(
        default_factory=built_in_statuses,
        min_length=1,
        max_length=100,
        description="In order; the first of category new is where cases start. Default: the six categories",
    )
    transitions: dict[str, list[str]] = Field(
        default_factory=dict, description="Status → the statuses it may change to; a status not named: any"
    )
    priority_matrix: Matrix | None = Field(
        default=None, description="Impact → urgency → priority; null: the priority is set directly"
    )
    default_impact: Level | None = None
    default_urgency: Level | None = None
    forms: dict[Channel, list[str]] = Field(
        default_factory=dict,
        description="Channel → field keys in order; a channel not named shows every field",
    )


class CaseTypeUpdate(BaseModel):
    """Each part given replaces the stored one; the result is checked as a whole."""

    model_config = ConfigDict(extra="forbid")

    labels: Labels | None = None
    department: str | None = Field(default=None, min_length=1, max_length=100)
    active: bool | None = None
    fields: list[FieldIn] | None = Field(default=None, max_length=200)
    statuses: list[StatusIn] | None = Field(default=None, min_length=1, max_length=100)
    transitions: dict[str, list[str]] | None = None
    priority_matrix: Matrix | None = None
    default_impact: Level | None = None
    default_urgency: Level | None = None
    forms: dict[Channel, list[str]] | None = None

    @field_validator("labels", "department", "active", "fields", "statuses", "transitions", "forms")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null")
        return value


class CaseTypeRead(BaseModel):
    key: str
    labels: Labels
    department: str
    active: bool
    fields: list[FieldIn]
    statuses: list[StatusIn]
    transitions: dict[str, list[str]]
    priority_matrix: Matrix | None = None
    default_impact: Level | None = None
    default_urgency: Level | None = None
    forms: dict[str, list[str]]
    created_at: datetime
    updated_at: datetime


class CaseTypeList(BaseModel):
    items: list[CaseTypeRead]


class FormField(BaseModel):
    key: str
    labels: Labels
    kind: FieldKind
    options: list[OptionIn] = Field(default_factory=list, description="The choices of a dropdown")
    mandatory_at: Stage | None = None


class FormRead(BaseModel):
    type: str
    channel: Channel
    fields: list[FormField]


# --- templates ----------------------------------------------------------------------------------


class TemplateCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=TEMPLATE_KEY)
    labels: Labels
    type: str | None = Field(
        default=None, min_length=1, max_length=60, description="Default: the default type"
    )
    queue: str | None = Field(default=None, min_length=1, max_length=100)
    group: str | None = Field(default=None, min_length=1, max_length=100)
    priority: Priority | None = Field(default=None, description="Not on a type with a priority matrix")
    impact: Level | None = None
    urgency: Level | None = None
    fields: dict[str, Any] = Field(default_factory=dict)
    subject: str = Field(default="", max_length=500)
    body_text: str = Field(default="", max_length=100_000)
    channel: Literal["phone", "api", "portal"] = "phone"
    active: bool = True


class TemplateUpdate(BaseModel):
    """Each attribute given replaces the stored one (null clears an optional one)."""

    model_config = ConfigDict(extra="forbid")

    labels: Labels | None = None
    type: str | None = Field(default=None, min_length=1, max_length=60)
    queue: str | None = Field(default=None, min_length=1, max_length=100)
    group: str | None = Field(default=None, min_length=1, max_length=100)
    priority: Priority | None = None
    impact: Level | None = None
    urgency: Level | None = None
    fields: dict[str, Any] | None = None
    subject: str | None = Field(default=None, max_length=500)
    body_text: str | None = Field(default=None, max_length=100_000)
    channel: Literal["phone", "api", "portal"] | None = None
    active: bool | None = None

    @field_validator("labels", "fields", "subject", "body_text", "channel", "active")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null")
        return value


class TemplateRead(BaseModel):
    key: str
    labels: Labels
    type: str | None = None
    queue: str | None = None
    group: str | None = None
    priority: str | None = None
    impact: str | None = None
    urgency: str | None = None
    fields: dict[str, Any]
    subject: str
    body_text: str
    channel: str
    active: bool
    created_at: datetime
    updated_at: datetime


class TemplateList(BaseModel):
    items: list[TemplateRead]


class FromTemplate(BaseModel):
    """Only the requester is needed; the rest may override the template's."""

    model_config = ConfigDict(extra="forbid")

    requester: PersonIn
    fields: dict[str, Any] = Field(default_factory=dict, description="Merged over the template's fields")
    subject: str | None = Field(default=None, min_length=1, max_length=500)
    body_text: str | None = Field(default=None, max_length=1_000_000)


# --- refusals -----------------------------------------------------------------------------------


class MissingField(BaseModel):
    key: str
    labels: Labels
    stage: Stage | None = Field(default=None, description="From which stage the field is mandatory")


class FieldProblem(BaseModel):
    field: str
    message: str


class Refusal(BaseModel):
    """A 422 of the case type's gate: each missing field (key and labels), each wrong value, and
    for a refused transition the statuses the case could go to."""

    message: str
    missing: list[MissingField] = Field(default_factory=list)
    invalid: list[FieldProblem] = Field(default_factory=list)
    allowed: list[str] | None = None


def refusal(exc: ChangeRefused) -> dict[str, Any]:
    return Refusal(
        message=exc.message,
        missing=[
            MissingField(key=f.key, labels=Labels(**f.labels), stage=f.mandatory_at) for f in exc.fields
        ],
        invalid=[FieldProblem(field=p.field, message=p.message) for p in exc.problems],
        allowed=exc.allowed,
    ).model_dump(mode="json")
