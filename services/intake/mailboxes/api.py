"""Routes of ``/api/v1/mailboxes``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status

from services.intake.mailboxes import service
from services.intake.mailboxes.schemas import MailboxCreate, MailboxList, MailboxRead, MailboxUpdate
from services.intake.models import Mailbox
from shared.app import ServiceContext, context

router = APIRouter(prefix="/api/v1/mailboxes", tags=["mailboxes"])
Context = Annotated[ServiceContext, Depends(context)]


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
