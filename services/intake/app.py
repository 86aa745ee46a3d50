"""Wiring of the intake service: its routes, tables, migrations and readiness."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI

from services.intake import api, service
from services.intake.mailboxes import api as mailbox_api
from services.intake.models import Base
from services.intake.settings import Settings
from shared.app import ServiceContext, ServiceSpec, create_service_app
from shared.runtime import Runtime

MIGRATIONS = Path(__file__).parent / "migrations" / "versions"


async def _readiness(ctx: ServiceContext) -> dict[str, Any]:
    return {"quarantine_waiting": await service.refresh_waiting(ctx.db)}


async def _on_start(ctx: ServiceContext) -> None:
    await service.refresh_waiting(ctx.db)


def create_app(settings: Settings, runtime: Runtime) -> FastAPI:
    spec = ServiceSpec(
        name="intake",
        metadata=Base.metadata,
        migrations=MIGRATIONS,
        routers=[api.router, mailbox_api.router],
        on_start=_on_start,
        readiness=_readiness,
    )
    return create_service_app(spec, settings, runtime)
