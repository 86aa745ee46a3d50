"""Builds a service's FastAPI app: lifespan (database, migrations, outbox relay, consumers,
workers), correlation ids, HTTP metrics, internal auth, ``/healthz``, ``/readyz``, ``/metrics``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import MetaData

from shared import logging as log_context
from shared import metrics
from shared.blobs import BlobStore
from shared.bus.transport import Subscription, Transport, dlq_name
from shared.db import Database
from shared.http import CORRELATION_HEADER, INTERNAL_TOKEN_HEADER
from shared.migrations import upgrade
from shared.outbox import OutboxRelay
from shared.runtime import Runtime
from shared.settings import BaseServiceSettings

logger = logging.getLogger(__name__)

Worker = Callable[[], Awaitable[None]]


@dataclass
class ServiceContext:
    """What a running service has: handed to routes (``request.app.state.ctx``) and handlers."""

    service: str
    settings: BaseServiceSettings
    runtime: Runtime
    db: Database
    relay: OutboxRelay
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def blobs(self) -> BlobStore:
        return self.runtime.blobs

    @property
    def transport(self) -> Transport:
        return self.runtime.transport


@dataclass
class ServiceSpec:
    name: str
    metadata: MetaData
    migrations: Path
    routers: Sequence[APIRouter] = ()
    subscriptions: Callable[[ServiceContext], Sequence[Subscription]] = lambda ctx: ()
    workers: Callable[[ServiceContext], Sequence[Worker]] = lambda ctx: ()
    on_start: Callable[[ServiceContext], Awaitable[None]] | None = None
    on_stop: Callable[[ServiceContext], Awaitable[None]] | None = None
    readiness: Callable[[ServiceContext], Awaitable[dict[str, Any]]] | None = None
    public_paths: tuple[str, ...] = ()
    """Paths served without the internal token (the gateway guards its own with bearer tokens)."""
    title: str | None = None
    openapi_url: str | None = "/openapi.json"


async def supervise(name: str, worker: Worker, *, min_delay: float = 0.5, max_delay: float = 30.0) -> None:
    """Run a background loop forever; a crash is logged and the loop restarted with backoff."""
    delay = min_delay
    while True:
        started = time.monotonic()
        try:
            await worker()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("worker %s crashed; restarting in %.1fs", name, delay)
        delay = min_delay if time.monotonic() - started > max_delay else min(delay * 2, max_delay)
        await asyncio.sleep(delay)


async def watch_dead_letters(
    service: str, transport: Transport, queues: Sequence[str], *, interval: float = 30.0
) -> None:
    """Keep the dead-letter gauge of each consumer queue current, for alerts and dashboards."""
    while True:
        for queue in queues:
            metrics.DEAD_LETTERS.labels(service, queue).set(await transport.depth(dlq_name(queue)))
        await asyncio.sleep(interval)


def create_service_app(spec: ServiceSpec, settings: BaseServiceSettings, runtime: Runtime) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = runtime.database(runtime.database_url(spec.name, settings.database_url), spec.metadata)
        if settings.migrate_on_start:
            await upgrade(db, spec.migrations, service=spec.name)
        relay = OutboxRelay(
            db, runtime.transport, service=spec.name, poll_seconds=settings.outbox_poll_seconds
        )
        ctx = ServiceContext(service=spec.name, settings=settings, runtime=runtime, db=db, relay=relay)
        app.state.ctx = ctx
        tasks: list[asyncio.Task[None]] = []
        try:
            if spec.on_start:
                await spec.on_start(ctx)
            subscriptions = spec.subscriptions(ctx)
            queues = [subscription.queue for subscription in subscriptions]
            workers = [
                ("outbox", relay.run),
                ("dead_letters", lambda: watch_dead_letters(spec.name, runtime.transport, queues)),
                *((f"worker{i}", w) for i, w in enumerate(spec.workers(ctx))),
            ]
            tasks = [
                asyncio.create_task(supervise(f"{spec.name}.{name}", w), name=f"{spec.name}.{name}")
                for name, w in workers
            ]
            for subscription in subscriptions:
                await runtime.transport.consume(subscription)
            logger.info("%s started", spec.name)
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if spec.on_stop:
                await spec.on_stop(ctx)
            await db.dispose()

    app = FastAPI(
        title=spec.title or f"Allsak {spec.name}",
        lifespan=lifespan,
        openapi_url=spec.openapi_url,
    )
    for router in spec.routers:
        app.include_router(router)
    _add_middleware(app, spec, settings)
    _add_health(app, spec)
    runtime.register_app(spec.name, app)
    return app


def _add_middleware(app: FastAPI, spec: ServiceSpec, settings: BaseServiceSettings) -> None:
    open_paths = ("/healthz", "/readyz", "/metrics", *spec.public_paths)

    @app.middleware("http")
    async def observe(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        cid = request.headers.get(CORRELATION_HEADER) or str(uuid.uuid4())
        token = log_context.correlation_id.set(cid)
        started = time.perf_counter()
        status = 500
        try:
            if settings.internal_token and not request.url.path.startswith(open_paths):
                given = request.headers.get(INTERNAL_TOKEN_HEADER, "")
                if not hmac.compare_digest(given.encode(), settings.internal_token.encode()):
                    response: Response = JSONResponse({"detail": "internal token required"}, status_code=401)
                    status = 401
                    return response
            response = await call_next(request)
            status = response.status_code
            response.headers[CORRELATION_HEADER] = cid
            return response
        finally:
            route = request.scope.get("route")
            template = getattr(route, "path", "unmatched")
            elapsed = time.perf_counter() - started
            metrics.HTTP_REQUESTS.labels(spec.name, request.method, template, str(status)).inc()
            metrics.HTTP_DURATION.labels(spec.name, request.method, template).observe(elapsed)
            log_context.correlation_id.reset(token)


def _add_health(app: FastAPI, spec: ServiceSpec) -> None:
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": spec.name}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        ctx: ServiceContext | None = getattr(request.app.state, "ctx", None)
        if ctx is None:
            return JSONResponse({"status": "starting", "service": spec.name}, status_code=503)
        checks: dict[str, Any] = {}
        ready = True
        try:
            await asyncio.wait_for(ctx.db.ping(), timeout=5)
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"error: {exc}"
            ready = False
        bus_ok = await ctx.transport.ping()
        checks["bus"] = "ok" if bus_ok else "unreachable"
        ready = ready and bus_ok
        if spec.readiness:
            checks.update(await spec.readiness(ctx))
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "service": spec.name, "checks": checks},
            status_code=200 if ready else 503,
        )

    @app.get("/metrics", include_in_schema=False)
    async def metrics_endpoint() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def context(request: Request) -> ServiceContext:
    """FastAPI dependency: the running service's context."""
    ctx: ServiceContext = request.app.state.ctx
    return ctx


Ctx = Annotated[ServiceContext, Depends(context)]
"""A route parameter of this type receives the running service's context."""

# The paging parameters of every list answered as ``{"items": [...], "next_cursor": ...}``.
Cursor = Annotated[str | None, Query(max_length=2000, description="next_cursor of the previous page")]
Limit = Annotated[int, Query(ge=1, le=200)]
