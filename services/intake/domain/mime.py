"""The MIME tree read into what a case needs: body text and HTML, the parts to keep, the text
of forwarded messages, and the reports and returned headers a bounce is read from.

multipart/alternative gives one body: its (last) plain text for the text and its (last) HTML
for the display; an alternative that is neither is kept as a part. multipart/related gives
its root as body and its other parts as inline resources. Every other multipart is read in
order: inline text and HTML without a file name are body, everything else is kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from email.message import Message
from html import escape

from services.intake.domain import embedded, tnef, uuencode
from services.intake.domain.charsets import decode_bytes
from services.intake.domain.embedded import payload
from services.intake.domain.headers import RawHeaders
from services.intake.domain.html import cid_key
from services.intake.domain.params import clean_filename, params
from services.intake.domain.parts import Kind, Part
from services.intake.domain.text import clean_line, clean_text, html_to_text

MESSAGE_TYPES = frozenset({"message/rfc822", "message/global"})
REPORT_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
HEADER_TYPES = frozenset({"text/rfc822-headers", "message/global-headers"})
CALENDAR_TYPES = frozenset({"text/calendar", "application/ics"})
MAX_CONTENT_ID = 250
# HTML beyond this is not converted to text: the text is cut far shorter anyway, and inscriptis
# needs about a second per 4 MB.
MAX_HTML_FOR_TEXT = 5_000_000
_UNFOLD = re.compile(r"\r?\n(?=[ \t])")

_META_CHARSET = re.compile(rb"<meta[^>]{0,200}?charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]{1,40})", re.IGNORECASE)


@dataclass
class Fragment:
    """One piece of body in reading order: text, HTML, or both (the two sides of an alternative)."""

    text: str | None = None
    html: str | None = None


@dataclass
class Content:
    fragments: list[Fragment] = field(default_factory=list)
    fallback: list[Fragment] = field(default_factory=list)  # a TNEF body, when there is no other
    parts: list[Part] = field(default_factory=list)
    forwarded: list[str] = field(default_factory=list)
    reports: list[str] = field(default_factory=list)
    returned: list[RawHeaders] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def take(self, other: Content) -> None:
        """Everything of ``other`` except its body."""
        self.parts += other.parts
        self.forwarded += other.forwarded
        self.reports += other.reports
        self.returned += other.returned
        self.notes += other.notes

    @property
    def body(self) -> list[Fragment]:
        return self.fragments or self.fallback


@dataclass(frozen=True)
class Facts:
    """What the header of one part says, read once: the email package re-parses on every call."""

    kind: str
    disposition: str | None
    filename: str | None
    charset: str | None
    content_id: str | None

    @classmethod
    def of(cls, part: Message) -> Facts:
        raw: dict[str, str] = {}
        for field_name, value in part.raw_items():
            raw.setdefault(field_name.lower(), _UNFOLD.sub("", str(value)))
        kind_params = params(raw.get("content-type", ""))
        disposition_value = raw.get("content-disposition", "")
        disposition_params = params(disposition_value)
        name = disposition_params.get("filename") or kind_params.get("name")
        content_id = clean_line(raw.get("content-id", "")).strip("<> ")[:MAX_CONTENT_ID]
        return cls(
            kind=part.get_content_type(),
            disposition=disposition_value.split(";", 1)[0].strip().lower() or None,
            filename=clean_filename(name) if name else None,
            charset=kind_params.get("charset"),
            content_id=content_id or None,
        )

    def keep(
        self,
        data: bytes,
        kind: Kind,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        disposition: str | None = None,
    ) -> Part:
        """A part to store, named as this header names it unless told otherwise."""
        declared = self.disposition if self.disposition in ("inline", "attachment") else None
        return Part(
            data=data,
            content_type=content_type or self.kind,
            kind=kind,
            filename=filename or self.filename,
            disposition=disposition or declared or ("inline" if kind is Kind.INLINE_IMAGE else "attachment"),
            content_id=self.content_id,
        )


def read(message: Message, *, max_parts: int) -> Content:
    """The content of a parsed message; never raises for a part it cannot read (it keeps it)."""
    content = Content()
    _Reader(max_parts).visit(message, content, top=True)
    return content


def body_text(content: Content) -> str:
    """The whole text: plain parts as they are, HTML parts converted, in reading order."""
    texts = (
        f.text if f.text is not None else html_to_text((f.html or "")[:MAX_HTML_FOR_TEXT])
        for f in content.body
    )
    return "\n\n".join(text for text in texts if text.strip())


def body_html(content: Content) -> str | None:
    """The HTML of the body, plain pieces between HTML ones escaped; None without any HTML."""
    if not any(f.html for f in content.body):
        return None
    return "\n".join(f.html if f.html else f"<pre>{escape(f.text or '')}</pre>" for f in content.body)


class _Reader:
    def __init__(self, max_parts: int) -> None:
        self.max_parts = max_parts

    def visit(self, part: Message, out: Content, *, top: bool = False) -> None:
        kind = part.get_content_type()
        # message/delivery-status is parsed into field blocks, so "multipart" to the email package.
        if kind in MESSAGE_TYPES or kind in REPORT_TYPES or not part.is_multipart():
            self._guarded(self._leaf, part, out, top=top)
        elif kind == "multipart/alternative":
            self._alternative(part, out)
        elif kind == "multipart/related":
            self._related(part, out)
        else:
            for child in _children(part):
                self.visit(child, out)

    def _guarded(self, read: Callable[..., None], part: Message, out: Content, **options: bool) -> None:
        try:
            read(part, Facts.of(part), out, **options)
        except RecursionError:
            raise
        except Exception as exc:  # one unreadable part must not cost the message: keep its bytes
            out.notes.append(f"{part.get_content_type()}: {type(exc).__name__}: {exc}"[:300])
            out.parts.append(Part(data=payload(part), content_type=part.get_content_type()))

    def _leaf(self, part: Message, facts: Facts, out: Content, *, top: bool = False) -> None:
        kind = facts.kind
        body = top or (facts.disposition != "attachment" and facts.filename is None)
        if kind in MESSAGE_TYPES:
            self._forwarded(part, facts, out)
        elif kind in REPORT_TYPES:
            report = embedded.report_text(part)
            out.reports.append(report)
            out.parts.append(facts.keep(report.encode("utf-8", "surrogateescape"), Kind.FILE))
        elif kind in HEADER_TYPES:
            data = payload(part)
            out.returned.append(embedded.header_block(data))
            out.parts.append(facts.keep(data, Kind.FILE))
        elif kind in CALENDAR_TYPES:
            out.parts.append(
                facts.keep(payload(part), Kind.CALENDAR, filename=facts.filename or "invite.ics")
            )
        elif tnef.is_tnef(kind, facts.filename):
            self._tnef(part, facts, out)
        elif body and (kind == "text/plain" or kind.startswith("multipart/")):
            self._plain(part, facts, out)
        elif body and kind == "text/html":
            data = payload(part)
            html = decode_bytes(data, facts.charset or _meta_charset(data))
            if html.strip():
                out.fragments.append(Fragment(html=html))
        else:
            image = kind.startswith("image/") and facts.content_id is not None
            out.parts.append(facts.keep(payload(part), Kind.INLINE_IMAGE if image else Kind.FILE))

    def _plain(self, part: Message, facts: Facts, out: Content) -> None:
        data, files = uuencode.extract(payload(part), limit=self.max_parts)
        out.parts += files
        text = clean_text(decode_bytes(data, facts.charset)).strip("\n")
        if text.strip():
            out.fragments.append(Fragment(text=text))

    def _tnef(self, part: Message, facts: Facts, out: Content) -> None:
        data = payload(part)
        out.parts.append(tnef.original(data, facts.filename))
        found = tnef.read_tnef(data, limit=self.max_parts)
        if found is None:
            out.notes.append("winmail.dat could not be decoded; kept as it came")
            return
        out.parts += found.parts
        if found.text or found.html:
            out.fallback.append(Fragment(text=found.text, html=found.html))

    def _forwarded(self, part: Message, facts: Facts, out: Content) -> None:
        inner, data = embedded.inner_message(part)
        filename = facts.filename or embedded.eml_name(inner)
        out.parts.append(
            facts.keep(data, Kind.FORWARDED_MESSAGE, filename=filename, content_type="message/rfc822")
        )
        if inner is None:
            return
        headers = RawHeaders.of(inner.raw_items())
        out.returned.append(headers)
        content = Content()
        self.visit(inner, content)
        texts = (embedded.summary(headers), body_text(content), *content.forwarded)
        out.forwarded.append("\n\n".join(text for text in texts if text))
        out.notes += content.notes

    def _alternative(self, part: Message, out: Content) -> None:
        options: list[tuple[Message, Content]] = []
        for child in _children(part):
            option = Content()
            self.visit(child, option)
            options.append((child, option))
        plain = _last(i for i, (_, o) in enumerate(options) if o.fragments and not _has_html(o))
        rich = _last(i for i, (_, o) in enumerate(options) if _has_html(o))
        for index, (child, option) in enumerate(options):
            if index not in (plain, rich) and not child.is_multipart():
                _unread_alternative(child, option)
            out.take(option)
        texts = [f.text for f in options[plain][1].fragments if f.text] if plain is not None else []
        htmls = [f.html for f in options[rich][1].fragments if f.html] if rich is not None else []
        if texts or htmls:
            out.fragments.append(Fragment(text="\n\n".join(texts) or None, html="\n".join(htmls) or None))

    def _related(self, part: Message, out: Content) -> None:
        children = _children(part)
        start = cid_key(params(str(part.get("content-type", ""))).get("start", ""))
        ids = [cid_key(Facts.of(child).content_id or "") for child in children] if start else []
        root = ids.index(start) if start in ids else 0
        for index, child in enumerate(children):
            if index == root or child.is_multipart():
                self.visit(child, out)
            else:
                self._guarded(self._resource, child, out)

    def _resource(self, part: Message, facts: Facts, out: Content) -> None:
        """A part the root of a multipart/related refers to: an image, a style sheet, a font."""
        image = facts.kind.startswith("image/") and facts.content_id is not None
        out.parts.append(
            facts.keep(payload(part), Kind.INLINE_IMAGE if image else Kind.FILE, disposition="inline")
        )


def _children(part: Message) -> list[Message]:
    found = part.get_payload()
    return [child for child in found if isinstance(child, Message)] if isinstance(found, list) else []


def _has_html(content: Content) -> bool:
    return any(f.html for f in content.fragments)


def _last(indexes: Iterable[int]) -> int | None:
    found = None
    for found in indexes:  # noqa: B007 - the last one is wanted
        pass
    return found


def _unread_alternative(child: Message, option: Content) -> None:
    """An alternative nobody reads (text/enriched, a second HTML, AMP) is kept, not lost."""
    if option.fragments:
        kept = Facts.of(child).keep(payload(child), Kind.ALTERNATIVE, disposition="inline")
        option.parts.append(kept)
        return
    option.parts = [
        replace(kept, kind=Kind.ALTERNATIVE, disposition="inline")
        if kept.kind is Kind.FILE and kept.filename is None
        else kept
        for kept in option.parts
    ]


def _meta_charset(data: bytes) -> str | None:
    found = _META_CHARSET.search(data[:4096])
    return found.group(1).decode("ascii") if found else None
