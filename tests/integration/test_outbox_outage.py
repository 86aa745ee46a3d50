"""Outbox on real RabbitMQ and PostgreSQL: cases registered while the broker is unreachable are
published once it is back, each event exactly once, and an inbox consumer handles each once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import Column, MetaData, String, Table, func, select

from services.cases.app import create_app
from services.cases.settings import Settings
from shared.bus import Message, Subscription
from shared.bus.amqp import AmqpTransport
from shared.db import Database, UnitOfWork, service_metadata
from shared.events.base import Envelope
from shared.events.cases import CaseCreated
from shared.inbox import consumer
from shared.migrations import ENV_DIR  # noqa: F401  (the shared Alembic environment must import)
from shared.runtime import Runtime
from shared.testing import running, wait_for
from tests.support.servers import RABBIT_HOST, RABBIT_PORT
from tests.support.tcpproxy import TcpProxy

pytestmark = pytest.mark.integration
CASES = 25


def through(proxy: TcpProxy, url: str) -> str:
    parts = urlsplit(url)
    netloc = f"{parts.username}:{parts.password}@127.0.0.1:{proxy.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def seen_table(metadata: MetaData) -> Table:
    return Table("seen", metadata, Column("message_id", String(36), primary_key=True))


async def test_cases_made_during_an_outage_are_published_once_after_it(
    tmp_path: Path, amqp_url: str, pg_url_factory: Callable[[str], str]
) -> None:
    proxy = TcpProxy(RABBIT_HOST, RABBIT_PORT)
    await proxy.start()
    settings = Settings(
        data_dir=tmp_path,
        amqp_url=through(proxy, amqp_url),
        database_url=pg_url_factory("cases"),
        outbox_poll_seconds=0.1,
    )
    metadata = service_metadata()
    seen = seen_table(metadata)
    consumer_db = Database(pg_url_factory("consumer"), metadata)
    async with consumer_db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)

    raw_ids: list[str] = []

    async def count_raw(message: Message) -> None:
        raw_ids.append(message.message_id)

    async def on_case_created(uow: UnitOfWork, event: CaseCreated, envelope: Envelope) -> None:
        await uow.session.execute(seen.insert().values(message_id=str(envelope.message_id)))

    async def handled() -> int:
        async with consumer_db.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(seen)) or 0)

    direct = AmqpTransport(amqp_url, service="test")
    await direct.start()
    try:
        await direct.consume(
            Subscription(queue="test.raw", patterns=("cases.case_created.v1",), handler=count_raw)
        )
        await direct.consume(
            consumer(
                consumer_db,
                service="test",
                name="on_case_created",
                events=[CaseCreated],
                handler=on_case_created,
            )
        )
        async with Runtime.distributed(settings) as runtime, running(create_app(settings, runtime)) as client:
            await proxy.stop()
            for i in range(CASES):
                response = await client.post(
                    "/api/v1/cases",
                    json={"subject": f"Under brudd {i}", "requester": {"email": f"k{i}@x.no"}},
                )
                assert response.status_code == 201, response.text
            relay = client._transport.app.state.ctx.relay  # type: ignore[attr-defined]
            assert await relay.pending() == CASES * 2  # case_created + article_added each
            assert raw_ids == []
            assert (await client.get("/readyz")).status_code == 503

            await proxy.start()
            await wait_for(lambda: len(raw_ids) >= CASES, timeout=60)
            assert await wait_for(lambda: _equals(handled(), CASES), timeout=30)
            await wait_for(lambda: _equals(relay.pending(), 0), timeout=30)
        assert len(raw_ids) == CASES
        assert max(Counter(raw_ids).values()) == 1
    finally:
        await direct.close()
        await proxy.stop()
        await consumer_db.dispose()


async def _equals(value: object, expected: int) -> bool:
    return await value == expected  # type: ignore[misc]
