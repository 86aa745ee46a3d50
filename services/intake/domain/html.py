"""HTML bodies made safe to show: nh3 (ammonia) keeps the basic formatting and nothing active.

No scripts, styles, event handlers, forms or frames; links only to http, https, mailto and
tel, opening with rel="noopener noreferrer"; images only from the message itself: a ``cid:``
link becomes the URL of the stored part, every other image source is dropped, so opening a
mail never tells its sender that it was read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from html import escape
from urllib.parse import unquote

import nh3

from services.intake.domain.text import html_to_text

ATTACHMENT_URL = "/api/v1/attachments/{sha256}"

TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "center", "cite", "code", "col", "colgroup",
        "dd", "del", "div", "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
        "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "small", "span", "strike", "strong",
        "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul",
    }
)  # fmt: skip
# Removed with everything inside them, not only the tags.
DROPPED = frozenset(
    {"script", "style", "title", "template", "noscript", "iframe", "object", "embed", "svg", "math",
     "textarea", "select", "button", "applet", "audio", "video", "canvas", "frameset", "noembed"}
)  # fmt: skip
_CELL = {"colspan", "rowspan", "align", "valign"}
ATTRIBUTES = {
    "*": {"title", "dir", "lang"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": _CELL,
    "th": _CELL,
    "ol": {"start"},
    "col": {"span"},
    "colgroup": {"span"},
}
LINK_SCHEMES = ("http:", "https:", "mailto:", "tel:")
# html5ever takes quadratic time on deeply nested elements (100,000 open <div>s: 13 s); markup
# with more unclosed tags than this is shown as its text instead.
MAX_UNCLOSED = 10_000
MAX_FLATTENED = 5_000_000
_OPEN_TAG = re.compile(r"<[A-Za-z]")


def cid_key(value: str) -> str:
    """A Content-ID or ``cid:`` URL as the key both are found by (RFC 2392: URL-encoded, no <>)."""
    return unquote(value.strip()).strip("<> ").lower()


def sanitise(html: str, *, images: Mapping[str, str]) -> str:
    """``html`` with only safe markup; ``images`` maps :func:`cid_key` of a Content-ID to its URL."""
    if len(_OPEN_TAG.findall(html)) - html.count("</") > MAX_UNCLOSED:
        return f"<pre>{escape(html_to_text(html[:MAX_FLATTENED]))}</pre>"

    def keep(tag: str, attribute: str, value: str) -> str | None:
        if tag == "img" and attribute == "src":
            return images.get(cid_key(value[4:])) if value[:4].lower() == "cid:" else None
        if attribute == "href" and not value.strip().lower().startswith(LINK_SCHEMES):
            return None  # relative links point into whatever shows the mail
        return value

    return nh3.clean(
        html,
        tags=set(TAGS),
        clean_content_tags=set(DROPPED),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        attribute_filter=keep,
        url_schemes={"http", "https", "mailto", "tel", "cid"},
        link_rel="noopener noreferrer",
        set_tag_attribute_values={"a": {"target": "_blank"}},
    )
