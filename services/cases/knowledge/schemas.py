"""HTTP models of knowledge: KB articles, the FAQ, the info board, standard solutions."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from services.cases.knowledge.domain import Audience, BoardKind, KbStatus, Lang, Visibility, normalise_tags

Title = Annotated[str, Field(min_length=1, max_length=300)]
Category = Annotated[str, Field(min_length=1, max_length=100)]
Html = Annotated[str, Field(max_length=500_000, description="HTML; sanitised when stored")]
Tags = Annotated[list[str], Field(max_length=30, description="Stored in lower case, each once")]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _not_null(value: object) -> object:
    # An update may leave a field out, but may not set a required one to null.
    if value is None:
        raise ValueError("may not be null")
    return value


# ---- KB articles ----


class KbArticleCreate(_Input):
    title: Title
    body_html: Html = ""
    lang: Lang = Lang.NB
    visibility: Visibility = Field(default=Visibility.INTERNAL, description="internal: agents only")
    category: Category | None = None
    tags: Tags = Field(default_factory=list)

    _tags = field_validator("tags")(normalise_tags)


class KbArticleUpdate(_Input):
    """Status changes through /publish and /archive, not here."""

    title: Title | None = None
    body_html: Html | None = None
    lang: Lang | None = None
    visibility: Visibility | None = None
    category: Category | None = Field(default=None, description="null removes the category")
    tags: Tags | None = None

    _required = field_validator("title", "body_html", "lang", "visibility", "tags", mode="before")(_not_null)

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags: list[str] | None) -> list[str] | None:
        return None if tags is None else normalise_tags(tags)


class KbArticleRead(BaseModel):
    id: str
    title: str
    body_html: str
    body_text: str = Field(description="The text of body_html, for search and previews")
    lang: Lang
    visibility: Visibility
    category: str | None
    tags: list[str]
    status: KbStatus
    author: str | None
    source_case_number: str | None = Field(description="The case whose solution this was drafted from")
    version: int = Field(description="1 when created, one more per update; the ETag")
    created_at: AwareDatetime
    updated_at: AwareDatetime
    published_at: AwareDatetime | None


class KbArticleList(BaseModel):
    items: list[KbArticleRead]
    next_cursor: str | None = None


class FaqEntry(BaseModel):
    """A published public KB article as the FAQ shows it (no author, no source case)."""

    id: str
    title: str
    body_html: str
    lang: Lang
    category: str | None
    tags: list[str]
    published_at: AwareDatetime | None
    updated_at: AwareDatetime


class FaqList(BaseModel):
    items: list[FaqEntry]
    next_cursor: str | None = None


class PromoteSolution(_Input):
    """Optional: what the draft is to be; its title defaults to the case subject."""

    title: Title | None = None
    lang: Lang = Lang.NB
    category: Category | None = None
    tags: Tags = Field(default_factory=list)

    _tags = field_validator("tags")(normalise_tags)


# ---- info board ----


class InfoBoardEntryCreate(_Input):
    title: Title
    body_html: Html = ""
    kind: BoardKind
    valid_from: AwareDatetime | None = Field(default=None, description="Default: now")
    valid_to: AwareDatetime | None = Field(default=None, description="Exclusive; none: until further notice")
    audience: Audience = Audience.EVERYONE
    organisation_ids: list[str] = Field(
        default_factory=list, max_length=200, description="Empty: every organisation"
    )


class InfoBoardEntryUpdate(_Input):
    title: Title | None = None
    body_html: Html | None = None
    kind: BoardKind | None = None
    valid_from: AwareDatetime | None = None
    valid_to: AwareDatetime | None = Field(default=None, description="null: until further notice")
    audience: Audience | None = None
    organisation_ids: list[str] | None = Field(default=None, max_length=200)

    _required = field_validator(
        "title", "body_html", "kind", "valid_from", "audience", "organisation_ids", mode="before"
    )(_not_null)


class InfoBoardEntryRead(BaseModel):
    id: str
    title: str
    body_html: str
    body_text: str
    kind: BoardKind
    valid_from: AwareDatetime
    valid_to: AwareDatetime | None
    audience: Audience
    organisation_ids: list[str]
    author: str | None
    created_at: AwareDatetime
    updated_at: AwareDatetime


class InfoBoardList(BaseModel):
    items: list[InfoBoardEntryRead]
    next_cursor: str | None = None


# ---- standard solutions ----

TemplateText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100_000,
        description="Plain text with placeholders: {customer.name}, {customer.email}, "
        "{case.number}, {case.subject}, {agent.name}",
    ),
]


class StandardSolutionCreate(_Input):
    title: Annotated[str, Field(min_length=1, max_length=200)]
    body: TemplateText
    lang: Lang = Lang.NB
    category: Category | None = None
    active: bool = True


class StandardSolutionUpdate(_Input):
    title: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    body: TemplateText | None = None
    lang: Lang | None = None
    category: Category | None = None
    active: bool | None = None

    _required = field_validator("title", "body", "lang", "active", mode="before")(_not_null)


class StandardSolutionRead(BaseModel):
    id: str
    title: str
    body: str
    lang: Lang
    category: str | None
    active: bool
    placeholders: list[str]
    unknown_placeholders: list[str] = Field(description="Placeholders render cannot fill: typos, probably")
    author: str | None
    created_at: AwareDatetime
    updated_at: AwareDatetime


class StandardSolutionList(BaseModel):
    items: list[StandardSolutionRead]
    next_cursor: str | None = None


class RenderRequest(_Input):
    case_number: Annotated[str, Field(pattern=r"^\d{1,12}$")]
    # The gateway names the caller by user id; their display name comes with the access issue's
    # identity dependency. Until then the agent's name is given here, or left marked.
    agent_name: str | None = Field(default=None, max_length=200, description="Fills {agent.name}")


class Rendered(BaseModel):
    title: str
    body: str
    unknown_placeholders: list[str] = Field(description="Left in the text as [[name]]")
    missing_values: list[str] = Field(
        description="Known, but without a value for this case; left as [[name]]"
    )
