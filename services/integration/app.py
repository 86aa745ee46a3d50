"""The integration service: signed outbound webhooks (Standard Webhooks 1.0)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import httpx
from fastapi import FastAPI

from services.integration import api, domain, handlers
from services.integration.models import Base
from services.integration.settings import Settings
from services.integration.worker import DeliveryWorker
from shared.app import ServiceContext, ServiceSpec, Worker, create_service_app
from shared.bus.transport import Subscription
from shared.inbox import envelope_consumer
from shared.runtime import Runtime

NAME = "integration"
MIGRATIONS = Path(__file__).parent / "migrations" / "versions"
USER_AGENT = "Allsak-Webhooks/1.0"


def subscriptions(ctx: ServiceContext) -> Sequence[Subscription]:
    return [
        envelope_consumer(ctx.db, service=NAME, name="on_event", patterns=["#"], handler=handlers.on_event)
    ]


def create_app(settings: Settings, runtime: Runtime) -> FastAPI:
    async def on_start(ctx: ServiceContext) -> None:
        # One client for every outbound POST; redirects are not followed (a 3xx is a failed attempt).
        ctx.state["http"] = httpx.AsyncClient(
            timeout=settings.webhook_timeout_seconds,
            follow_redirects=False,
            headers={"user-agent": USER_AGENT},
        )

    async def on_stop(ctx: ServiceContext) -> None:
        client: httpx.AsyncClient | None = ctx.state.pop("http", None)
        if client is not None:
            await client.aclose()

    def workers(ctx: ServiceContext) -> Sequence[Worker]:
        policy = domain.RetryPolicy(
            max_attempts=settings.webhook_max_attempts,
            base_seconds=settings.webhook_retry_base_seconds,
            factor=settings.webhook_retry_factor,
            max_seconds=settings.webhook_retry_max_seconds,
            jitter=settings.webhook_retry_jitter,
        )
        worker = DeliveryWorker(
            ctx.db,
            ctx.state["http"],
            policy,
            timeout_seconds=settings.webhook_timeout_seconds,
            poll_seconds=settings.webhook_poll_seconds,
            batch_size=settings.webhook_batch_size,
        )
        return [worker.run]

    spec = ServiceSpec(
        name=NAME,
        metadata=Base.metadata,
        migrations=MIGRATIONS,
        routers=[api.router],
        subscriptions=subscriptions,
        workers=workers,
        on_start=on_start,
        on_stop=on_stop,
        title="Allsak integration",
    )
    return create_service_app(spec, settings, runtime)
