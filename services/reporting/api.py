"""Routes of the reporting service."""

from __future__ import annotations

from typing import Annotated, cast
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, status

from services.reporting import domain, service
from services.reporting.schemas import KpiQuery, KpisRead
from services.reporting.settings import Settings
from shared.app import ServiceContext, context

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])


@router.get("/kpis", response_model=KpisRead)
async def kpis(query: Annotated[KpiQuery, Query()], ctx: ServiceContext = Depends(context)) -> KpisRead:
    """Created, open and closed cases per local day and per queue; open counts the period's end."""
    zone = ZoneInfo(cast(Settings, ctx.settings).report_timezone)
    try:
        start, end = domain.default_period(
            query.from_, query.to, today=ctx.db.clock().astimezone(zone).date()
        )
    except domain.RangeError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    result = await service.kpis(ctx.db, start=start, end=end, zone=zone, queue=query.queue)
    return KpisRead.model_validate(result)
