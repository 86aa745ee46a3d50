"""Intake's HTTP routes: thin, one service call each."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from email.utils import getaddresses
from typing import Annotated, Any, cast

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from services.intake import fate, quarantine, service
from services.intake.schemas import (
    API_PREFIX,
    InvalidCursor,
    MessageRead,
    QuarantineDetail,
    QuarantinePageRead,
    QuarantineRead,
    ReceiptRead,
    decode_cursor,
    encode_cursor,
)
from services.intake.settings import Settings
from shared.app import Ctx, ServiceContext

router = APIRouter(prefix=API_PREFIX, tags=["intake"])

Context = Ctx

MAIL_TYPES = ("message/rfc822", "application/octet-stream", "text/plain")
FORM_TYPE = "multipart/form-data"
# Where inbound-mail providers put the raw message: SendGrid "send raw", Mailgun's MIME route, others.
FORM_FIELDS = ("email", "body-mime", "message", "raw", "mime")
# Room for the provider's other form fields (headers, envelope, spam report) beside the message.
FORM_OVERHEAD = 1024 * 1024
_RAW_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "One raw RFC 5322 message, byte for byte; or a provider's inbound-mail form",
        "content": {
            **{kind: {"schema": {"type": "string", "format": "binary"}} for kind in MAIL_TYPES},
            FORM_TYPE: {
                "schema": {
                    "type": "object",
                    "description": f"The raw message in the first present of: {', '.join(FORM_FIELDS)}",
                    "properties": {
                        **{name: {"type": "string", "format": "binary"} for name in FORM_FIELDS},
                        "envelope": {"type": "string", "description": 'JSON {"to": [...], "from": ...}'},
                        "recipient": {"type": "string", "description": "Envelope recipients"},
                        "to": {"type": "string", "description": "Recipients, when no envelope is sent"},
                    },
                }
            },
        },
    }
}


def _settings(ctx: ServiceContext) -> Settings:
    return cast(Settings, ctx.settings)


@contextlib.contextmanager
def _http_errors() -> Iterator[None]:
    try:
        yield
    except service.NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except service.AlreadyResolved as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except service.StillQuarantined as exc:
        detail = {"message": "the message still cannot be read", "reason": exc.reason, "detail": exc.detail}
        raise HTTPException(status.HTTP_409_CONFLICT, detail) from None
    except service.RawUnavailable as exc:
        raise HTTPException(status.HTTP_500_INTERNAL_SERVER_ERROR, str(exc)) from None


def _check_content_type(value: str | None) -> str:
    kind = (value or "").split(";", 1)[0].strip().lower()
    if kind not in (*MAIL_TYPES, FORM_TYPE):
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            f"Content-Type {kind or '(none)'} is not accepted: send the raw message as "
            f"{', '.join(MAIL_TYPES)}, or as a field of {FORM_TYPE}",
        )
    return kind


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes ``limit`` bytes."""
    too_large = HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"the message is larger than {limit} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


def _form_fields(content_type: str, body: bytes) -> dict[str, bytes]:
    """Each field of a multipart/form-data body as its exact bytes (text fields too; the first of a name wins).

    Starlette decodes text fields to str, which cannot give back 8-bit bytes exactly.
    """
    boundary = parse_options_header(content_type)[1].get(b"boundary")
    if not boundary:
        raise FormParserError("no boundary in the Content-Type")
    fields: dict[str, bytes] = {}
    names: list[str | None] = []
    header, value, data = bytearray(), bytearray(), bytearray()

    def on_part_begin() -> None:
        data.clear()
        names.append(None)

    def on_header_end() -> None:
        if header.lower() == b"content-disposition":
            name = parse_options_header(bytes(value))[1].get(b"name")
            names[-1] = name.decode("utf-8", "replace") if name is not None else None
        header.clear()
        value.clear()

    def on_part_end() -> None:
        if names[-1] is not None:
            fields.setdefault(names[-1], bytes(data))

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": lambda b, start, end: header.extend(b[start:end]),
            "on_header_value": lambda b, start, end: value.extend(b[start:end]),
            "on_header_end": on_header_end,
            "on_part_data": lambda b, start, end: data.extend(b[start:end]),
            "on_part_end": on_part_end,
        },
    )
    parser.write(body)
    parser.finalize()
    return fields


def _form_recipients(fields: dict[str, bytes]) -> list[str]:
    """Envelope recipients a provider sent: ``envelope`` (JSON, SendGrid), else ``recipient``, else ``to``."""
    text = {
        name: fields[name].decode("utf-8", "replace")
        for name in ("envelope", "recipient", "to")
        if name in fields
    }
    found: list[str] = []
    with contextlib.suppress(ValueError, AttributeError, TypeError):
        to = json.loads(text.get("envelope", "")).get("to") or []
        found = [to] if isinstance(to, str) else [str(a) for a in to]
    if not found:
        found = [text.get("recipient") or text.get("to") or ""]
    return [address for _, address in getaddresses(found) if "@" in address]


async def _read_form(request: Request, limit: int) -> tuple[bytes, list[str]]:
    """The raw message in a provider's form, and the envelope recipients it names."""
    body = await _read_body(request, limit + FORM_OVERHEAD)
    try:
        fields = _form_fields(request.headers.get("content-type", ""), body)
    except FormParserError as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"not a readable {FORM_TYPE} body: {exc}"
        ) from None
    name = next((name for name in FORM_FIELDS if name in fields), None)
    if name is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"no raw message in the form: send it in one of the fields {', '.join(FORM_FIELDS)}",
        )
    if len(fields[name]) > limit:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"the message is larger than {limit} bytes")
    return fields[name], _form_recipients(fields)


@router.post(
    "/mail",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ReceiptRead,
    response_model_exclude_none=True,
    openapi_extra=_RAW_BODY,
    summary="Take in one raw mail message",
    responses={
        413: {"description": "Larger than max_message_bytes; nothing stored"},
        415: {
            "description": "Not message/rfc822, application/octet-stream, text/plain or multipart/form-data"
        },
        422: {"description": "Empty body, or a form without a raw message field"},
    },
)
async def post_mail(request: Request, ctx: Context) -> ReceiptRead:
    """Stored before the answer; a message that cannot be read is quarantined, never dropped.

    A ``multipart/form-data`` post is a provider's inbound-mail webhook (channel ``webhook``).
    """
    settings = _settings(ctx)
    channel, recipients = "api", list[str]()
    if _check_content_type(request.headers.get("content-type")) == FORM_TYPE:
        channel = "webhook"
        raw, recipients = await _read_form(request, settings.max_message_bytes)
    else:
        raw = await _read_body(request, settings.max_message_bytes)
    if not raw:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "the message is empty: send the raw message"
        )
    receipt = await service.receive_message(
        ctx.db,
        ctx.blobs,
        raw=raw,
        channel=channel,
        limits=settings.limits,
        timeout=settings.parse_timeout_seconds,
        envelope=recipients,
        loops=settings.loops,
    )
    return ReceiptRead.of(receipt)


@router.get("/messages/{message_id}", response_model=MessageRead)
async def get_message(message_id: str, ctx: Context) -> MessageRead:
    with _http_errors():
        return MessageRead.of(await fate.message_view(ctx.db, message_id=message_id))


@router.get("/quarantine", response_model=QuarantinePageRead)
async def list_quarantine(
    ctx: Context,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
    waiting: Annotated[bool | None, Query(description="true: unresolved only; false: resolved only")] = None,
) -> QuarantinePageRead:
    try:
        after = decode_cursor(cursor)
    except InvalidCursor as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    page = await quarantine.quarantine_page(ctx.db, after=after, limit=limit, waiting=waiting)
    return QuarantinePageRead(
        items=[QuarantineRead.of(entry) for entry in page.items], next_cursor=encode_cursor(page.next_after)
    )


@router.get("/quarantine/{quarantine_id}", response_model=QuarantineDetail)
async def get_quarantine(quarantine_id: str, ctx: Context) -> QuarantineDetail:
    with _http_errors():
        return QuarantineDetail.of(await quarantine.quarantine_entry(ctx.db, quarantine_id=quarantine_id))


@router.get(
    "/quarantine/{quarantine_id}/raw",
    response_class=Response,
    responses={200: {"content": {"message/rfc822": {}}, "description": "The raw message, byte for byte"}},
)
async def get_quarantine_raw(quarantine_id: str, ctx: Context) -> Response:
    with _http_errors():
        raw = await quarantine.quarantined_raw(ctx.db, ctx.blobs, quarantine_id=quarantine_id)
    return Response(
        raw,
        media_type="message/rfc822",
        headers={"Content-Disposition": f'attachment; filename="{quarantine_id}.eml"'},
    )


@router.post(
    "/quarantine/{quarantine_id}/retry",
    response_model=QuarantineRead,
    responses={409: {"description": "Already resolved, or still unreadable (with the reason)"}},
)
async def retry_quarantine(quarantine_id: str, ctx: Context) -> QuarantineRead:
    """Parse again (after a fix or with raised limits); 409 with the reason when it still fails."""
    settings = _settings(ctx)
    with _http_errors():
        entry = await quarantine.retry_quarantined(
            ctx.db,
            ctx.blobs,
            quarantine_id=quarantine_id,
            limits=settings.limits,
            timeout=settings.parse_timeout_seconds,
            loops=settings.loops,
        )
    return QuarantineRead.of(entry)


@router.post(
    "/quarantine/{quarantine_id}/discard",
    response_model=QuarantineRead,
    responses={409: {"description": "Already resolved"}},
)
async def discard_quarantine(quarantine_id: str, ctx: Context) -> QuarantineRead:
    """Give up on the message; its record and raw bytes stay."""
    with _http_errors():
        return QuarantineRead.of(await quarantine.discard_quarantined(ctx.db, quarantine_id=quarantine_id))
