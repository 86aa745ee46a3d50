"""Routes of the integration service: webhook subscriptions and their deliveries."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status

from services.integration import domain, service
from services.integration.schemas import DeliveryPage, WebhookCreate, WebhookCreated, WebhookPage, WebhookRead
from shared.app import ServiceContext, context

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])

Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=500)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No webhook with that id"}}


@router.post("", response_model=WebhookCreated, status_code=status.HTTP_201_CREATED)
async def create(body: WebhookCreate, ctx: ServiceContext = Depends(context)) -> WebhookCreated:
    async with ctx.db.uow() as uow:
        webhook = await service.create_webhook(uow, **body.model_dump(mode="json"))
    return WebhookCreated.model_validate(webhook)


@router.get("", response_model=WebhookPage)
async def list_webhooks(
    ctx: ServiceContext = Depends(context), limit: Limit = 100, cursor: Cursor = None
) -> WebhookPage:
    with _bad_cursor():
        page = await service.list_webhooks(ctx.db, limit=limit, cursor=cursor)
    return WebhookPage(
        items=[WebhookRead.model_validate(w) for w in page.items], next_cursor=page.next_cursor
    )


@router.get("/{webhook_id}", response_model=WebhookRead, responses=NOT_FOUND)
async def get(webhook_id: str, ctx: ServiceContext = Depends(context)) -> WebhookRead:
    with _not_found():
        return WebhookRead.model_validate(await service.get_webhook(ctx.db, webhook_id=webhook_id))


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete(webhook_id: str, ctx: ServiceContext = Depends(context)) -> Response:
    with _not_found():
        async with ctx.db.uow() as uow:
            await service.delete_webhook(uow, webhook_id=webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{webhook_id}/deliveries", response_model=DeliveryPage, responses=NOT_FOUND)
async def deliveries(
    webhook_id: str, ctx: ServiceContext = Depends(context), limit: Limit = 50, cursor: Cursor = None
) -> DeliveryPage:
    """Newest first: status, attempts, last status code or error, and when the next attempt is due."""
    with _not_found(), _bad_cursor():
        page = await service.list_deliveries(ctx.db, webhook_id=webhook_id, limit=limit, cursor=cursor)
    return DeliveryPage.model_validate(
        {"items": page.items, "next_cursor": page.next_cursor}, from_attributes=True
    )


@contextlib.contextmanager
def _not_found() -> Iterator[None]:
    try:
        yield
    except service.NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "webhook not found") from None


@contextlib.contextmanager
def _bad_cursor() -> Iterator[None]:
    try:
        yield
    except domain.CursorError as exc:
        detail = [{"loc": ["query", "cursor"], "msg": str(exc), "type": "value_error"}]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail) from None
