"""Wiring of the intake service: its routes, tables, migrations and readiness."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI

from services.intake import api, handlers, service
from services.intake.channels import imap, smtp_server
from services.intake.mailboxes import api as mailbox_api
from services.intake.models import Base
from services.intake.settings import Settings
from shared.app import ServiceContext, ServiceSpec, create_service_app
from shared.bus.transport import Subscription
from shared.events.cases import ArticleAdded, MailRejected
from shared.inbox import consumer
from shared.runtime import Runtime

MIGRATIONS = Path(__file__).parent / "migrations" / "versions"


async def _readiness(ctx: ServiceContext) -> dict[str, Any]:
    return {"quarantine_waiting": await service.refresh_waiting(ctx.db)}


async def _on_start(ctx: ServiceContext) -> None:
    await service.refresh_waiting(ctx.db)
    await smtp_server.start(ctx)


async def _on_stop(ctx: ServiceContext) -> None:
    await smtp_server.stop(ctx)


def _subscriptions(ctx: ServiceContext) -> list[Subscription]:
    return [
        consumer(
            ctx.db,
            service="intake",
            name="on_article_added",
            events=[ArticleAdded],
            handler=handlers.on_article_added,
        ),
        consumer(
            ctx.db,
            service="intake",
            name="on_mail_rejected",
            events=[MailRejected],
            handler=handlers.on_mail_rejected(ctx.blobs),
        ),
    ]


def create_app(settings: Settings, runtime: Runtime) -> FastAPI:
    spec = ServiceSpec(
        name="intake",
        metadata=Base.metadata,
        migrations=MIGRATIONS,
        routers=[api.router, mailbox_api.router],
        subscriptions=_subscriptions,
        workers=lambda ctx: [imap.worker(ctx, settings)],
        on_start=_on_start,
        on_stop=_on_stop,
        readiness=_readiness,
    )
    return create_service_app(spec, settings, runtime)
