"""HTTP models of the cases API (the contract scripts and other systems rely on)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator


class PersonRead(BaseModel):
    email: str
    name: str | None = None


class PersonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    name: str | None = Field(default=None, max_length=200)


class AttachmentRead(BaseModel):
    """A part of a mail in the blob store, by content hash; ``GET /api/v1/attachments/<sha256>``
    serves it to callers who see the case."""

    sha256: str
    filename: str | None = None
    content_type: str
    size: int
    disposition: str = "attachment"
    content_id: str | None = None
    kind: str = "file"


class ArticleRead(BaseModel):
    id: str
    kind: str
    internal: bool
    channel: str
    from_: PersonRead | None = Field(default=None, alias="from", serialization_alias="from")
    subject: str
    body_text: str
    threaded_by: str | None = None
    rfc_message_id: str | None = None
    reply_text: str | None = Field(default=None, description="From mail: the new text, without quotes")
    html_sha256: str | None = Field(default=None, description="From mail: sanitised HTML in the blob store")
    attachments: list[AttachmentRead] = Field(default_factory=list)
    created_at: datetime

    model_config = ConfigDict(populate_by_name=True)


class SlaRead(BaseModel):
    first_response_due_at: datetime | None = Field(
        default=None, description="When the first public reply is due (business time), if there is a target"
    )
    resolution_due_at: datetime | None = Field(default=None, description="When the case is due resolved")


class RuleHitRead(BaseModel):
    rule: str = Field(description="Id of the routing rule that fired")
    name: str
    reason: str = Field(description="Which conditions matched")
    actions: dict[str, Any] = Field(default_factory=dict, description="What the rule set")


class CaseRead(BaseModel):
    number: str
    subject: str
    status: str
    status_category: str = Field(
        description="new, open, waiting_for_customer, waiting_for_third_party, resolved or closed"
    )
    type: str
    queue: str
    priority: str
    impact: str | None = None
    urgency: str | None = None
    channel: str
    requester: PersonRead
    assignee: str | None = None
    group: str | None = None
    fields: dict[str, Any] = Field(
        default_factory=dict, description="Values of the case type's custom fields"
    )
    template: str | None = Field(default=None, description="Key of the template the case was registered from")
    routing: list[RuleHitRead] = Field(default_factory=list, description="Routing rules that fired")
    sla: SlaRead = Field(default_factory=SlaRead)
    follow_up_of: str | None = Field(default=None, description="Number of the closed case this follows up")
    created_at: datetime
    updated_at: datetime


class CaseDetail(CaseRead):
    articles: list[ArticleRead]


class CaseList(BaseModel):
    items: list[CaseRead]
    next_cursor: str | None = None


Priority = Literal["low", "normal", "high", "critical"]
Level = Literal["high", "medium", "low"]
FieldValues = dict[Annotated[str, Field(max_length=50)], Any]


class CaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=1, max_length=500)
    requester: PersonIn
    body_text: str = Field(default="", max_length=1_000_000)
    channel: Literal["api", "phone", "portal"] = "api"
    queue: str | None = Field(default=None, min_length=1, max_length=100)
    type: str | None = Field(default=None, min_length=1, max_length=60)
    priority: Priority | None = Field(
        default=None, description="Not where the case type derives it from impact × urgency"
    )
    impact: Level | None = None
    urgency: Level | None = None
    assignee: str | None = Field(default=None, max_length=200)
    fields: FieldValues = Field(default_factory=dict, description="Values of the case type's custom fields")


class CaseUpdate(BaseModel):
    """What a change may name; the case type's gate checks it as a whole."""

    model_config = ConfigDict(extra="forbid")

    status: str | None = Field(
        default=None, min_length=1, max_length=40, description="A status of the case type"
    )
    type: str | None = Field(
        default=None,
        min_length=1,
        max_length=60,
        description="The status moves to the new type's first of its category",
    )
    priority: Priority | None = Field(
        default=None, description="Not where the case type derives it from impact × urgency"
    )
    impact: Level | None = None
    urgency: Level | None = None
    fields: FieldValues | None = Field(
        default=None, description="Partial: the keys given are set, a null value removes the field"
    )
    assignee: str | None = Field(default=None, max_length=200)
    queue: str | None = Field(default=None, min_length=1, max_length=100)
    group: str | None = Field(default=None, min_length=1, max_length=100)

    @field_validator("status", "type", "priority", "fields", "queue")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null")
        return value


class BulkUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    numbers: list[Annotated[str, Field(pattern=r"^\d{1,12}$")]] = Field(min_length=1, max_length=200)
    changes: CaseUpdate


class BulkResult(BaseModel):
    items: list[CaseRead]


class ArticleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["reply", "note", "phone"]
    body_text: str = Field(min_length=1, max_length=1_000_000)
    subject: str | None = Field(default=None, max_length=500)
    internal: bool | None = Field(default=None, description="Default: notes are internal, replies public")


# --- users, groups, queues --------------------------------------------------------------------

Role = Literal["agent", "team_lead", "admin"]
# A key is stored in cases and shown in lists: any letters (Økonomi), no control characters,
# no blank at either end.
KEY_PATTERN = r"^[^\s\x00-\x1f\x7f]([^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?$"


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    name: str = Field(min_length=1, max_length=200)
    role: Role = "agent"
    active: bool = True
    available: bool = Field(default=False, description="May automatic assignment give them cases")


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr | None = None
    name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    active: bool | None = None
    available: bool | None = None


class UserRead(BaseModel):
    id: str
    email: str
    name: str
    role: Role
    active: bool
    available: bool
    groups: list[str] = Field(default_factory=list, description="Ids of the user's groups")
    created_at: datetime
    updated_at: datetime


class UserList(BaseModel):
    items: list[UserRead]
    next_cursor: str | None = None


class GroupCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=100, pattern=KEY_PATTERN)
    name: str = Field(min_length=1, max_length=200)


class GroupRead(BaseModel):
    id: str
    key: str
    name: str
    members: list[str] = Field(default_factory=list, description="Ids of the group's users")
    created_at: datetime


class GroupList(BaseModel):
    items: list[GroupRead]


class MemberAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: str = Field(min_length=1, max_length=36)


class QueueCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(
        min_length=1, max_length=100, pattern=KEY_PATTERN, description="What cases store in their queue"
    )
    name: str | None = Field(default=None, min_length=1, max_length=200, description="Default: the key")
    group_id: str = Field(min_length=1, max_length=36, description="The owning group")
    sender_address: EmailStr | None = None
    active: bool = True


class QueueRead(BaseModel):
    id: str
    key: str
    name: str
    group_id: str
    sender_address: str | None = None
    active: bool
    created_at: datetime


class QueueList(BaseModel):
    items: list[QueueRead]
