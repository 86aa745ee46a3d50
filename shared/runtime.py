"""The one module that knows whether Allsak runs embedded or distributed.

Embedded: every service in one process, one in-process bus, SQLite files in the data folder,
and the gateway calling the other services' apps in-process over ASGI. Distributed: one
service per process, RabbitMQ, the databases named by their URLs, and HTTP between
services. Everything else receives a ``Runtime`` and asks it for what it needs.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from sqlalchemy import MetaData

from shared.blobs import BlobStore
from shared.bus.transport import Transport
from shared.db import Database
from shared.http import service_client
from shared.settings import BaseServiceSettings

logger = logging.getLogger(__name__)


class Mode(StrEnum):
    EMBEDDED = "embedded"
    DISTRIBUTED = "distributed"


class Runtime:
    def __init__(self, *, mode: Mode, transport: Transport, blob_root: Path, data_dir: Path) -> None:
        self.mode = mode
        self.transport = transport
        self.blobs = BlobStore(blob_root)
        self.data_dir = data_dir
        self._apps: dict[str, Any] = {}
        self._started = False

    @classmethod
    def embedded(cls, *, data_dir: Path, delivery_limit: int = 5, prefetch: int = 10) -> Runtime:
        from shared.bus.memory import MemoryTransport

        return cls(
            mode=Mode.EMBEDDED,
            transport=MemoryTransport(delivery_limit=delivery_limit, prefetch=prefetch),
            blob_root=data_dir / "blobs",
            data_dir=data_dir,
        )

    @classmethod
    def distributed(cls, settings: BaseServiceSettings) -> Runtime:
        from shared.bus.amqp import AmqpTransport

        if not settings.amqp_url:
            raise ValueError("ALLSAK_AMQP_URL must be set to run a service on its own")
        return cls(
            mode=Mode.DISTRIBUTED,
            transport=AmqpTransport(
                settings.amqp_url,
                delivery_limit=settings.delivery_limit,
                prefetch=settings.prefetch,
                service=settings.service,
            ),
            blob_root=settings.blob_root,
            data_dir=settings.data_dir,
        )

    def database_url(self, service: str, configured: str | None) -> str:
        """A configured URL wins; otherwise embedded services keep a SQLite file in the data folder."""
        if configured:
            return configured
        if self.mode is Mode.EMBEDDED:
            return f"sqlite+aiosqlite:///{(self.data_dir / f'{service}.db').resolve()}"
        raise ValueError(f"ALLSAK_{service.upper()}_DATABASE_URL must be set")

    def database(self, url: str, metadata: MetaData) -> Database:
        return Database(url, metadata)

    def register_app(self, service: str, app: Any) -> None:
        """Embedded mode: make ``service`` reachable in-process by the others."""
        if self.mode is Mode.EMBEDDED:
            self._apps[service] = app

    def http_client(
        self, service: str, base_url: str | None, *, internal_token: str | None
    ) -> httpx.AsyncClient:
        if self.mode is Mode.EMBEDDED:
            app = self._apps.get(service)
            if app is None:
                raise LookupError(f"service {service} is not part of this process")
            return service_client(
                base_url=f"http://{service}",
                transport=httpx.ASGITransport(app=app),
                internal_token=internal_token,
            )
        if not base_url:
            raise ValueError(f"ALLSAK_{service.upper()}_URL must be set for the gateway")
        return service_client(base_url=base_url, internal_token=internal_token)

    async def __aenter__(self) -> Runtime:
        if self.mode is Mode.EMBEDDED:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        await self.transport.start()
        self._started = True
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._started:
            await self.transport.close()
            self._started = False
