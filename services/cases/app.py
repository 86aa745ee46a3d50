"""The cases service: the system of record."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.cases import api
from services.cases.handlers import make_handlers
from services.cases.models import Base
from services.cases.settings import Settings
from shared.app import ServiceContext, ServiceSpec, create_service_app
from shared.bus.transport import Subscription
from shared.events.intake import MessageReceived
from shared.events.notify import MailSent
from shared.inbox import consumer
from shared.runtime import Runtime

MIGRATIONS = Path(__file__).parent / "migrations" / "versions"


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
        routers=[api.router],
        subscriptions=subscriptions,
    )
    return create_service_app(spec, settings, runtime)
