"""The reporting service: a read model of cases fed by the cases service's events."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fastapi import FastAPI

from services.reporting import api, handlers
from services.reporting.models import Base
from services.reporting.settings import Settings
from shared.app import ServiceContext, ServiceSpec, create_service_app
from shared.bus.transport import Subscription
from shared.events.cases import CaseCreated, CaseUpdated
from shared.inbox import consumer
from shared.runtime import Runtime

NAME = "reporting"
MIGRATIONS = Path(__file__).parent / "migrations" / "versions"


def subscriptions(ctx: ServiceContext) -> Sequence[Subscription]:
    return [
        consumer(
            ctx.db,
            service=NAME,
            name="on_case_created",
            events=[CaseCreated],
            handler=handlers.on_case_created,
        ),
        consumer(
            ctx.db,
            service=NAME,
            name="on_case_updated",
            events=[CaseUpdated],
            handler=handlers.on_case_updated,
        ),
    ]


def create_app(settings: Settings, runtime: Runtime) -> FastAPI:
    spec = ServiceSpec(
        name=NAME,
        metadata=Base.metadata,
        migrations=MIGRATIONS,
        routers=[api.router],
        subscriptions=subscriptions,
        title="Allsak reporting",
    )
    return create_service_app(spec, settings, runtime)
