"""The gateway's app: its tables, its routes and pages, and the clients of the other services."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI

from services.gateway import api, pages, proxy, service
from services.gateway.models import Base
from services.gateway.openapi import OpenApiCache
from services.gateway.settings import Settings
from shared.app import ServiceContext, ServiceSpec, create_service_app
from shared.runtime import Runtime

MIGRATIONS = Path(__file__).parent / "migrations" / "versions"


async def on_start(ctx: ServiceContext) -> None:
    settings: Settings = ctx.settings  # type: ignore[assignment]
    if settings.admin_token:
        await service.ensure_admin_token(ctx.db, secret=settings.admin_token)
    # The gateway starts last, so every service of this process is registered by now.
    ctx.state["downstreams"] = proxy.Downstreams.connect(ctx.runtime, settings)
    ctx.state["openapi"] = OpenApiCache(settings.openapi_cache_seconds)
    ctx.state["templates"] = pages.environment()


async def on_stop(ctx: ServiceContext) -> None:
    services: proxy.Downstreams | None = ctx.state.pop("downstreams", None)
    if services is not None:
        await services.aclose()


async def readiness(ctx: ServiceContext) -> dict[str, Any]:
    return await proxy.downstreams(ctx).health()


def create_app(settings: Settings, runtime: Runtime) -> FastAPI:
    spec = ServiceSpec(
        name="gateway",
        metadata=Base.metadata,
        migrations=MIGRATIONS,
        routers=[api.router, pages.router],
        on_start=on_start,
        on_stop=on_stop,
        readiness=readiness,
        # Every path of the gateway is public: it guards them with bearer tokens and sessions.
        public_paths=("/",),
        title="Allsak gateway",
        openapi_url=None,
    )
    app = create_service_app(spec, settings, runtime)
    pages.install(app)
    return app
