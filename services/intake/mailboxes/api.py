"""Routes of ``/api/v1/mailboxes``."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from services.intake.mailboxes import service
from services.intake.mailboxes.schemas import MailboxCreate, MailboxList, MailboxRead, MailboxUpdate
from services.intake.models import Mailbox
from shared.app import Ctx


class _NoInputRoute(APIRoute):
    """422 answers without the ``input`` FastAPI echoes by default: a mailbox body holds a secret."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                errors = [{k: v for k, v in error.items() if k != "input"} for error in exc.errors()]
                raise RequestValidationError(errors) from None

        return route


router = APIRouter(prefix="/api/v1/mailboxes", tags=["mailboxes"], route_class=_NoInputRoute)
Context = Ctx


def read(mailbox: Mailbox) -> MailboxRead:
    return MailboxRead.model_validate(
        {
            **{c: getattr(mailbox, c) for c in MailboxRead.model_fields if c != "has_secret"},
            "has_secret": bool(mailbox.secret),
        }
    )


@router.get("", response_model=MailboxList)
async def list_mailboxes(ctx: Context) -> MailboxList:
    return MailboxList(items=[read(m) for m in await service.list_mailboxes(ctx.db)])


@router.post("", response_model=MailboxRead, status_code=status.HTTP_201_CREATED)
async def create_mailbox(body: MailboxCreate, ctx: Context) -> MailboxRead:
    try:
        return read(await service.create_mailbox(ctx.db, body))
    except (service.AddressTaken, service.NameTaken) as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None


@router.get("/{mailbox_id}", response_model=MailboxRead)
async def get_mailbox(mailbox_id: str, ctx: Context) -> MailboxRead:
    try:
        return read(await service.get_mailbox(ctx.db, mailbox_id))
    except service.MailboxNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "mailbox not found") from None


@router.patch("/{mailbox_id}", response_model=MailboxRead)
async def update_mailbox(mailbox_id: str, body: MailboxUpdate, ctx: Context) -> MailboxRead:
    try:
        return read(await service.update_mailbox(ctx.db, mailbox_id, body))
    except service.MailboxNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "mailbox not found") from None
    except (service.AddressTaken, service.NameTaken) as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
