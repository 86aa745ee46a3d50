"""Routes of notify: what was sent, what is waiting, what failed and why."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query

from services.notify import service
from services.notify.schemas import MailStatus, OutgoingMailDetail, OutgoingMailPage, OutgoingMailRead
from shared.app import ServiceContext, context

router = APIRouter(prefix="/api/v1/outgoing-mail", tags=["outgoing mail"])


@router.get("", response_model=OutgoingMailPage)
async def list_outgoing_mail(
    case: str | None = Query(default=None, description="Case number"),
    status: MailStatus | None = None,
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=200),
    ctx: ServiceContext = Depends(context),
) -> OutgoingMailPage:
    try:
        mails, next_cursor = await service.list_mail(
            ctx.db, case_number=case, status=status, cursor=cursor, limit=limit
        )
    except service.InvalidCursor as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    return OutgoingMailPage(
        items=[OutgoingMailRead.model_validate(m) for m in mails], next_cursor=next_cursor
    )


@router.get("/{mail_id}", response_model=OutgoingMailDetail)
async def get_outgoing_mail(mail_id: str, ctx: ServiceContext = Depends(context)) -> OutgoingMailDetail:
    mail = await service.get_mail(ctx.db, mail_id)
    if mail is None:
        raise HTTPException(status_code=404, detail="no such mail")
    return OutgoingMailDetail.model_validate(mail)
