"""Events published by the cases service."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.events.base import Event


class Person(BaseModel):
    model_config = ConfigDict(frozen=True)

    email: str
    name: str | None = None


class CaseCreated(Event):
    """A case was registered, from any channel."""

    producer = "cases"
    event = "case_created"

    number: str
    subject: str
    status: str
    type: str
    queue: str
    priority: str
    requester: Person
    assignee: str | None = None
    channel: str = Field(description="mail, api, portal, phone")
    created_at: AwareDatetime
    source_message_id: str | None = Field(
        default=None, description="Message-ID of the mail the case was created from"
    )
    source_references: list[str] = Field(default_factory=list)
    suppress_auto_reply: bool = Field(
        default=False, description="The source was machine-sent or bulk mail: send no acknowledgement"
    )
    status_category: str | None = Field(
        default=None,
        description="Category of the status (new, open, waiting_for_customer, waiting_for_third_party, "
        "resolved, closed): statuses are configured per case type",
    )


class ArticleAdded(Event):
    """An article (inbound mail, public reply, internal note, phone note) was added to a case."""

    producer = "cases"
    event = "article_added"

    number: str
    article_id: str
    kind: str = Field(description="mail_in, web, phone, reply, note, delivery_failure")
    internal: bool = False
    sender: Person | None = None
    subject: str = ""
    body_text: str = Field(default="", description="At most 20,000 characters")
    channel: str
    threaded_by: str | None = Field(default=None, description="Why the article joined this case")
    rfc_message_id: str | None = None
    created_at: AwareDatetime
    intake_message_id: str | None = Field(default=None, description="Intake's id of the mail it came from")


class FieldChange(BaseModel):
    model_config = ConfigDict(frozen=True)

    old: Any = None
    new: Any = None


class CaseUpdated(Event):
    """Fields of a case changed; carries old and new values and who caused it."""

    producer = "cases"
    event = "case_updated"

    number: str
    changes: dict[str, FieldChange] = Field(
        description="Changed attributes, old and new; a custom field's as fields.<key>"
    )
    origin: str = Field(description="user, rule, mail, integration")
    actor: str | None = None
    status: str
    queue: str
    updated_at: AwareDatetime
    status_category: str | None = Field(default=None, description="Category of the status after the change")


class MailRejected(Event):
    """The cases service would not take a mail (unknown sender where the mailbox forbids new
    customers, a bounce of nothing we sent); intake quarantines it or keeps it as a record."""

    producer = "cases"
    event = "mail_rejected"

    intake_message_id: str
    reason: str = Field(description="unknown_sender, bounce_unmatched, duplicate")
    action: str = Field(description="quarantine or drop")
    detail: str = ""
    rejected_at: AwareDatetime


class CaseMerged(Event):
    """A case was merged into another (the survivor): its articles and Message-IDs moved there
    and it was closed. Emitted once per merge, with the survivor's changes in the same commit."""

    producer = "cases"
    event = "case_merged"

    number: str = Field(description="The merged case, now closed")
    into: str = Field(description="The surviving case")
    articles_moved: int
    merged_at: AwareDatetime
    actor: str | None = None
