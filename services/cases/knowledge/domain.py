"""Rules of knowledge, pure: HTML made safe, placeholders filled, info board validity, cursors."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from html import escape
from html.parser import HTMLParser
from typing import Protocol

import nh3


class Lang(StrEnum):
    NB = "nb"
    EN = "en"


class Visibility(StrEnum):
    INTERNAL = "internal"  # agents only
    PUBLIC = "public"  # customers and the portal too


class KbStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class BoardKind(StrEnum):
    KNOWN_PROBLEM = "known_problem"
    NEWS = "news"


class Audience(StrEnum):
    EVERYONE = "everyone"
    CUSTOMERS = "customers"
    AGENTS = "agents"


class InvalidInput(ValueError):
    """Input that breaks a rule; ``field`` names what the caller should fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# ---- access hooks: the role the gateway forwards; customers see only what is public ----

CUSTOMER_ROLE = "customer"


def kb_visibilities_for(role: str | None) -> frozenset[Visibility]:
    """Customers see public KB articles only; staff (and internal callers) see all."""
    return frozenset({Visibility.PUBLIC}) if role == CUSTOMER_ROLE else frozenset(Visibility)


def board_audience_for(role: str | None, requested: Audience | None) -> Audience | None:
    """A customer gets the customers' board whatever they ask for."""
    return Audience.CUSTOMERS if role == CUSTOMER_ROLE else requested


# ---- HTML ----

TAGS = frozenset(
    {"a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "div", "dl", "dt", "em",
     "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p",
     "pre", "s", "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th",
     "thead", "tr", "u", "ul"}
)  # fmt: skip
# Removed with everything inside them, not only the tags.
DROPPED = frozenset(
    {"script", "style", "title", "template", "noscript", "iframe", "object", "embed", "svg", "math",
     "textarea", "select", "button", "applet", "audio", "video", "canvas", "frameset", "noembed"}
)  # fmt: skip
ATTRIBUTES = {
    "*": {"title", "lang", "dir"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "ol": {"start"},
}
# html5ever takes quadratic time on deeply nested markup; beyond this it is kept as its text.
MAX_UNCLOSED = 5_000
_OPEN_TAG = re.compile(r"<[A-Za-z]")


def sanitise(html: str) -> str:
    """Only basic formatting: no scripts, styles, handlers, forms or frames; links to http(s),
    mailto and tel only (opening with noopener); images from https only."""
    if len(_OPEN_TAG.findall(html)) - html.count("</") > MAX_UNCLOSED:
        return f"<pre>{escape(html_to_text(html))}</pre>"

    def keep(tag: str, attribute: str, value: str) -> str | None:
        if tag == "img" and attribute == "src":
            return value if value.strip().lower().startswith("https:") else None
        if attribute == "href" and not value.strip().lower().startswith(
            ("http:", "https:", "mailto:", "tel:")
        ):
            return None  # relative links would point into whatever shows the article
        return value

    return nh3.clean(
        html,
        tags=set(TAGS),
        clean_content_tags=set(DROPPED),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        attribute_filter=keep,
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener noreferrer",
    )


_BLOCKS = frozenset(
    {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table",
     "ul", "ol", "dl", "dt", "dd", "hr", "caption"}
)  # fmt: skip
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("- ")
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data.replace("\n", " "))


def html_to_text(html: str) -> str:
    """The words of (sanitised) HTML, a line per block, for search and previews."""
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    lines = [_SPACES.sub(" ", line).strip() for line in "".join(parser.parts).split("\n")]
    return "\n".join(line for line in lines if line)


def text_to_html(text: str) -> str:
    """Plain text as HTML: a paragraph per blank-line-separated block, line breaks kept."""
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text.replace("\r\n", "\n")) if b.strip()]
    return "".join(f"<p>{escape(block).replace(chr(10), '<br>')}</p>" for block in blocks)


# ---- KB articles ----


def normalise_tags(tags: Sequence[str]) -> list[str]:
    """Tags in lower case, inner spaces collapsed, each once, in the order given."""
    cleaned = [" ".join(tag.split()).lower() for tag in tags]
    if any(not tag or len(tag) > 60 for tag in cleaned):
        raise ValueError("a tag has 1 to 60 characters")
    return list(dict.fromkeys(cleaned))


class KbArticleLike(Protocol):
    visibility: str
    status: str
    category: str | None
    lang: str
    title: str
    body_text: str

    @property
    def tags(self) -> list[str]: ...


@dataclass(frozen=True)
class KbSelection:
    """Which KB articles a list shows; the repository asks the same in SQL."""

    visibilities: frozenset[str]  # what the caller may see; none: nothing
    status: str | None = None
    category: str | None = None
    tag: str | None = None
    lang: str | None = None
    text: str | None = None  # a substring of the title or text, any case

    def admits(self, article: KbArticleLike) -> bool:
        wanted = {"status": self.status, "category": self.category, "lang": self.lang}
        if article.visibility not in self.visibilities:
            return False
        if any(value is not None and getattr(article, field) != value for field, value in wanted.items()):
            return False
        if self.tag and normalise_tags([self.tag])[0] not in article.tags:
            return False
        text = (self.text or "").lower()
        return text in article.title.lower() or text in article.body_text.lower()


def faq_selection(*, lang: str | None, category: str | None) -> KbSelection:
    """The FAQ is the published public articles, whoever asks."""
    return KbSelection(
        visibilities=frozenset({Visibility.PUBLIC.value}),
        status=KbStatus.PUBLISHED.value,
        lang=lang,
        category=category,
    )


def publish_refusal(*, title: str, body_text: str) -> str | None:
    """Why an article may not be published yet, or None: it needs a title and some text."""
    if not title.strip():
        return "an article without a title cannot be published"
    if not body_text.strip():
        return "an article without text cannot be published"
    return None


# ---- standard solutions: placeholders ----

PLACEHOLDERS: Mapping[str, str] = {
    "customer.name": "the requester's name",
    "customer.email": "the requester's mail address",
    "case.number": "the case number",
    "case.subject": "the case subject",
    "agent.name": "the agent who replies",
}
# A dotted name in braces. Nothing else is a placeholder: "{0}", "{x!r}", "{x:>9}" stay literal.
_PLACEHOLDER = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}")


@dataclass(frozen=True)
class Rendered:
    text: str
    unknown: tuple[str, ...]  # placeholders the context does not know, left marked
    missing: tuple[str, ...]  # known ones without a value (a customer without a name), left marked


def mark(name: str) -> str:
    """How a placeholder that could not be filled shows in the text: ``[[customer.name]]``."""
    return f"[[{name}]]"


def placeholders(template: str) -> list[str]:
    """The placeholder names in a template, each once, in order of appearance."""
    return list(dict.fromkeys(match.group(1).lower() for match in _PLACEHOLDER.finditer(template)))


def unknown_placeholders(template: str) -> list[str]:
    return [name for name in placeholders(template) if name not in PLACEHOLDERS]


def render(template: str, context: Mapping[str, str | None]) -> Rendered:
    """Fill each placeholder from ``context`` (a flat name -> text map) in one pass.

    Only a lookup by name: no attribute access, indexing or formatting, so nothing in a template
    can reach code. Values go in verbatim and are not scanned again (a customer named
    ``{agent.name}`` stays so). What cannot be filled is marked, never silently dropped.
    """
    unknown: list[str] = []
    missing: list[str] = []

    def fill(match: re.Match[str]) -> str:
        name = match.group(1).lower()
        if name not in context:
            unknown.append(name)
            return mark(match.group(1))
        value = context[name]
        if not value:
            missing.append(name)
            return mark(name)
        return value

    text = _PLACEHOLDER.sub(fill, template)
    return Rendered(text, tuple(dict.fromkeys(unknown)), tuple(dict.fromkeys(missing)))


def case_context(
    *,
    customer_name: str | None,
    customer_email: str | None,
    case_number: str | None,
    case_subject: str | None,
    agent_name: str | None,
) -> dict[str, str | None]:
    return {
        "customer.name": customer_name,
        "customer.email": customer_email,
        "case.number": case_number,
        "case.subject": case_subject,
        "agent.name": agent_name,
    }


# ---- info board ----

SHOWN_TO: Mapping[Audience, frozenset[Audience]] = {
    Audience.EVERYONE: frozenset({Audience.EVERYONE}),
    Audience.CUSTOMERS: frozenset({Audience.EVERYONE, Audience.CUSTOMERS}),
    # Agents see what customers are told too: they answer the calls about it.
    Audience.AGENTS: frozenset(Audience),
}


def check_window(valid_from: datetime, valid_to: datetime | None) -> None:
    """A window is aware and not empty: valid_to (exclusive) comes after valid_from."""
    if valid_from.tzinfo is None:
        raise InvalidInput("valid_from", "needs a time zone")
    if valid_to is not None and valid_to.tzinfo is None:
        raise InvalidInput("valid_to", "needs a time zone")
    if valid_to is not None and valid_to <= valid_from:
        raise InvalidInput("valid_to", "must be after valid_from")


def valid_at(valid_from: datetime, valid_to: datetime | None, at: datetime) -> bool:
    """From valid_from (inclusive) to valid_to (exclusive; none: open-ended), in any time zone."""
    if at.tzinfo is None:
        raise ValueError("naive datetime: the instant is ambiguous")
    return valid_from <= at and (valid_to is None or at < valid_to)


def targeted_shown_without_organisation(audience: Audience | None) -> bool:
    """Entries for named organisations show to agents and admins without naming one; on the
    customers' board only to a caller in one of those organisations."""
    return audience in (None, Audience.AGENTS)


@dataclass(frozen=True)
class BoardEntry:
    valid_from: datetime
    valid_to: datetime | None
    audience: Audience
    organisation_ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class BoardQuery:
    at: datetime | None = None
    audience: Audience | None = None
    organisation_id: str | None = None


def board_shows(entry: BoardEntry, query: BoardQuery) -> bool:
    """Whether the board asked for shows the entry (the repository asks the same in SQL)."""
    if query.at is not None and not valid_at(entry.valid_from, entry.valid_to, query.at):
        return False
    if query.audience is not None and entry.audience not in SHOWN_TO[query.audience]:
        return False
    if not entry.organisation_ids:
        return True
    if query.organisation_id is not None:
        return query.organisation_id in entry.organisation_ids
    return targeted_shown_without_organisation(query.audience)


# ---- cursors: the sort key of the last row of a page, opaque to callers ----

CursorValue = str | datetime


def encode_cursor(values: Sequence[CursorValue]) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, kinds: Sequence[type[str] | type[datetime]]) -> list[CursorValue]:
    """The values of ``encode_cursor``, typed by ``kinds``; anything else is InvalidInput."""
    try:
        plain = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(plain, list) or len(plain) != len(kinds):
            raise ValueError("wrong shape")
        values: list[CursorValue] = []
        for kind, value in zip(kinds, plain, strict=True):
            if not isinstance(value, str):
                raise ValueError("not a string")
            parsed = datetime.fromisoformat(value) if kind is datetime else value
            if isinstance(parsed, datetime) and parsed.tzinfo is None:
                raise ValueError("naive")
            values.append(parsed)
        return values
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("cursor", "not a cursor of this list") from None
