"""The cases service: the system of record."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.cases import api, attachments_api, directory_api, import_api, seed
from services.cases.casetypes import api as casetypes_api
from services.cases.customers import api as customers_api
from services.cases.handlers import make_handlers
from services.cases.knowledge import api as knowledge_api
from services.cases.models import Base
from services.cases.relations import api as relations_api
from services.cases.rules import api as rules_api
from services.cases.search import api as search_api
from services.cases.settings import Settings
from services.cases.sla import api as sla_api
from services.cases.sla import timer as sla_timer
from shared.app import ServiceContext, ServiceSpec, create_service_app
from shared.bus.transport import Subscription
from shared.events.intake import MessageReceived
from shared.events.notify import MailSent
from shared.inbox import consumer
from shared.runtime import Runtime

MIGRATIONS = Path(__file__).parent / "migrations" / "versions"


async def on_start(ctx: ServiceContext) -> None:
    settings: Settings = ctx.settings  # type: ignore[assignment]
    await seed.ensure_default_queue(ctx.db, settings)


def create_app(settings: Settings, runtime: Runtime) -> FastAPI:
    on_message_received, on_mail_sent = make_handlers(settings)

    def subscriptions(ctx: ServiceContext) -> list[Subscription]:
        return [
            consumer(
                ctx.db,
                service="cases",
                name="on_message_received",
                events=[MessageReceived],
                handler=on_message_received,
            ),
            consumer(ctx.db, service="cases", name="on_mail_sent", events=[MailSent], handler=on_mail_sent),
        ]

    spec = ServiceSpec(
        name="cases",
        metadata=Base.metadata,
        migrations=MIGRATIONS,
        routers=[
            api.router,
            knowledge_api.router,
            directory_api.router,
            attachments_api.router,
            search_api.router,
            customers_api.router,
            relations_api.router,
            casetypes_api.router,
            rules_api.router,
            sla_api.router,
            import_api.router,
        ],
        subscriptions=subscriptions,
        workers=sla_timer.workers,
        on_start=on_start,
    )
    return create_service_app(spec, settings, runtime)
