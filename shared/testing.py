"""Helpers for tests of services: run an app's lifespan, call it in-process, wait for a condition."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import httpx

from shared.bus.transport import Transport
from shared.events.base import Envelope, Event, encode, envelope_for

T = TypeVar("T")


@contextlib.asynccontextmanager
async def running(app: Any, *, base_url: str = "http://test") -> AsyncIterator[httpx.AsyncClient]:
    """Start the app's lifespan and yield a client that calls it in-process."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url, timeout=30) as client:
            yield client


async def wait_for(
    condition: Callable[[], Awaitable[T | None] | T | None], *, timeout: float = 10.0, interval: float = 0.02
) -> T:
    """Poll ``condition`` until it returns something truthy, and return that; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = condition()
        if asyncio.iscoroutine(last) or isinstance(last, Awaitable):
            last = await last
        if last:
            return cast(T, last)
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout}s (last value: {last!r})")
        await asyncio.sleep(interval)


def make_envelope(event: Event, *, correlation_id: str | None = None) -> Envelope:
    return envelope_for(
        event,
        message_id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        correlation_id=correlation_id or str(uuid.uuid4()),
    )


async def publish(transport: Transport, event: Event) -> Envelope:
    """Publish an event directly on the bus, as its producer's outbox relay would."""
    envelope = make_envelope(event)
    await transport.publish(
        routing_key=envelope.routing_key, body=encode(envelope), message_id=str(envelope.message_id)
    )
    return envelope
