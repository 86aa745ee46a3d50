"""The integration service through its API and the bus, delivering to a real local HTTP receiver."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from prometheus_client import REGISTRY
from sqlalchemy import func, select
from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.integration import domain, service
from services.integration.app import MIGRATIONS, create_app
from services.integration.models import Base
from services.integration.settings import Settings
from shared.bus import Message, Subscription
from shared.db import Database
from shared.events import Envelope, decode
from shared.events.cases import CaseCreated, Person
from shared.migrations import upgrade
from shared.outbox import outbox_table
from shared.runtime import Runtime
from shared.testing import make_envelope, publish, running, wait_for

SECRET = "whsec_" + base64.b64encode(b"allsak-test-secret-32-bytes-long").decode()


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """A real HTTP endpoint on 127.0.0.1 that records POSTs and answers scripted status codes."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.answers: dict[str, list[int]] = {}
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        app = Starlette(routes=[Route("/{path:path}", self._hook, methods=["POST"])])
        config = uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)

    def url(self, path: str) -> str:
        host, port = self.sock.getsockname()
        return f"http://{host}:{port}{path}"

    def answer(self, path: str, *codes: int) -> None:
        """Answer POSTs to ``path`` with these codes in turn; the last one repeats."""
        self.answers[path] = list(codes)

    def at(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    async def _hook(self, request: Request) -> Response:
        path = request.url.path
        self.requests.append(Received(path, dict(request.headers), await request.body()))
        codes = self.answers.get(path, [200])
        return Response(status_code=codes.pop(0) if len(codes) > 1 else codes[0])


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    task = asyncio.create_task(receiver.server.serve(sockets=[receiver.sock]))
    await wait_for(lambda: receiver.server.started)
    try:
        yield receiver
    finally:
        receiver.server.should_exit = True
        await task


class Harness:
    def __init__(
        self, client: httpx.AsyncClient, runtime: Runtime, db: Database, events: list[Envelope]
    ) -> None:
        self.client = client
        self.runtime = runtime
        self.db = db
        self.events = events

    async def webhook(self, url: str, events: list[str], **fields: Any) -> dict[str, Any]:
        response = await self.client.post("/api/v1/webhooks", json={"url": url, "events": events, **fields})
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def deliveries(self, webhook_id: str, **params: Any) -> list[dict[str, Any]]:
        response = await self.client.get(f"/api/v1/webhooks/{webhook_id}/deliveries", params=params)
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def only_delivery(self, webhook_id: str, status: str) -> dict[str, Any] | None:
        """The webhook's one delivery once it has ``status``."""
        items = await self.deliveries(webhook_id)
        return items[0] if len(items) == 1 and items[0]["status"] == status else None

    async def handled_all(self, n: int) -> bool:
        return await self.handled() == n

    async def handled(self) -> int:
        """Events the on_event consumer has handled (its inbox rows)."""
        async with self.db.sessions() as session:
            return int(
                await session.scalar(select(func.count()).select_from(self.db.metadata.tables["inbox"])) or 0
            )


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, pg_url_factory: Callable[[str], str]) -> str | None:
    return None if request.param == "sqlite" else pg_url_factory("integration")


@pytest.fixture
async def integration(tmp_path: Path, database_url: str | None) -> AsyncIterator[Harness]:
    runtime = Runtime.embedded(data_dir=tmp_path)
    events: list[Envelope] = []

    async def record(message: Message) -> None:
        events.append(decode(message.body))

    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        outbox_poll_seconds=0.05,
        webhook_max_attempts=3,
        webhook_retry_base_seconds=0.05,
        webhook_retry_jitter=0,
        webhook_poll_seconds=0.1,
    )
    async with runtime:
        await runtime.transport.consume(
            Subscription(queue="test.integration", patterns=("integration.#",), handler=record)
        )
        app = create_app(settings, runtime)
        async with running(app) as client:
            yield Harness(client, runtime, app.state.ctx.db, events)


def case_created(number: str = "10001") -> CaseCreated:
    return CaseCreated(
        number=number,
        subject="Printer",
        status="new",
        type="incident",
        queue="IT",
        priority="normal",
        requester=Person(email="kari@kunde.no"),
        channel="mail",
        created_at=datetime.now(UTC),
    )


def deliveries_counter(outcome: str) -> float:
    return (
        REGISTRY.get_sample_value("allsak_integration_webhook_deliveries_total", {"outcome": outcome}) or 0.0
    )


async def test_the_secret_is_returned_once_and_never_again(integration: Harness) -> None:
    created = await integration.webhook("https://fag.example/hook", ["cases.*"], description="Fagsystem")
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    assert created["events"] == ["cases.*"] and created["active"] is True

    listed = await integration.client.get("/api/v1/webhooks")
    one = await integration.client.get(f"/api/v1/webhooks/{created['id']}")
    assert one.status_code == 200 and one.json()["description"] == "Fagsystem"
    assert [w["id"] for w in listed.json()["items"]] == [created["id"]]
    for response in (listed, one):
        assert secret not in response.text and "secret" not in response.text

    given = await integration.webhook("https://fag.example/other", ["#"], secret=SECRET)
    assert given["secret"] == SECRET
    assert SECRET not in (await integration.client.get(f"/api/v1/webhooks/{given['id']}")).text

    assert (await integration.client.delete(f"/api/v1/webhooks/{created['id']}")).status_code == 204
    assert (await integration.client.get(f"/api/v1/webhooks/{created['id']}")).status_code == 404
    assert (await integration.client.delete(f"/api/v1/webhooks/{created['id']}")).status_code == 404
    assert (await integration.client.get(f"/api/v1/webhooks/{created['id']}/deliveries")).status_code == 404


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"url": "ftp://fag.example/hook"}, "url", "http"),
        ({"url": "not a url"}, "url", "URL"),
        ({"events": []}, "events", "at least 1"),
        ({"events": ["cases.case_created"]}, "events", "can never match"),
        ({"events": ["Cases.*"]}, "events", "lowercase"),
        ({"secret": "topsecret"}, "secret", "whsec_"),
        ({"secret": "whsec_" + base64.b64encode(b"short").decode()}, "secret", "24 to 64 bytes"),
    ],
)
async def test_invalid_webhooks_are_rejected_naming_the_field(
    integration: Harness, body: dict[str, Any], field: str, message: str
) -> None:
    response = await integration.client.post(
        "/api/v1/webhooks", json={"url": "https://fag.example/hook", "events": ["#"], **body}
    )
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"][:2] == ["body", field]
    assert message in error["msg"]


async def test_an_event_is_signed_delivered_and_retried_with_the_same_id(
    integration: Harness, receiver: Receiver
) -> None:
    receiver.answer("/hook", 500, 200)
    hook = await integration.webhook(receiver.url("/hook"), ["cases.*"], secret=SECRET)
    other = await integration.webhook(receiver.url("/other"), ["intake.*"])
    delivered = deliveries_counter("delivered")
    envelope = await publish(integration.runtime.transport, case_created())

    await wait_for(lambda: len(receiver.at("/hook")) == 2)
    first, second = receiver.at("/hook")
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    for request in (first, second):
        assert request.headers["content-type"] == "application/json"
        payload = Webhook(SECRET).verify(request.body, request.headers)
        assert payload["type"] == "cases.case_created.v1"
        assert payload["data"]["number"] == "10001"
        assert datetime.fromisoformat(payload["timestamp"]) == envelope.occurred_at

    delivery = await wait_for(lambda: integration.only_delivery(hook["id"], "delivered"))
    assert delivery["id"] == first.headers["webhook-id"]
    assert delivery["event_id"] == str(envelope.message_id)
    assert (delivery["attempts"], delivery["last_status_code"], delivery["next_attempt_at"]) == (2, 200, None)
    assert deliveries_counter("delivered") == delivered + 1
    assert await integration.deliveries(other["id"]) == []
    assert receiver.at("/other") == []


async def test_the_last_failed_attempt_emits_delivery_failed_once(
    integration: Harness, receiver: Receiver
) -> None:
    receiver.answer("/down", 503)
    hook = await integration.webhook(receiver.url("/down"), ["#"], secret=SECRET)
    failed = deliveries_counter("failed")
    await publish(integration.runtime.transport, case_created())

    await wait_for(
        lambda: [e for e in integration.events if e.routing_key == "integration.delivery_failed.v1"]
    )
    [event] = integration.events
    requests = receiver.at("/down")
    assert len(requests) == 3 and len({r.headers["webhook-id"] for r in requests}) == 1
    assert event.payload["webhook_id"] == hook["id"]
    assert event.payload["delivery_id"] == requests[0].headers["webhook-id"]
    assert event.payload["event_name"] == "cases.case_created.v1"
    assert event.payload["attempts"] == 3 and event.payload["reason"].startswith("HTTP 503")
    assert deliveries_counter("failed") == failed + 1

    [delivery] = await integration.deliveries(hook["id"])
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == ("failed", 3, 503)
    assert delivery["last_error"].startswith("HTTP 503") and delivery["next_attempt_at"] is None

    # The failure report reaches the integration consumer too; it is not sent to the failing hook itself.
    await wait_for(lambda: integration.handled_all(2))
    assert len(await integration.deliveries(hook["id"])) == 1


async def test_an_unreachable_endpoint_records_the_error(integration: Harness) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    hook = await integration.webhook(f"http://127.0.0.1:{port}/gone", ["cases.case_created.v1"])
    await publish(integration.runtime.transport, case_created())
    delivery = await wait_for(lambda: integration.only_delivery(hook["id"], "failed"))
    assert delivery["last_status_code"] is None and "ConnectError" in delivery["last_error"]


async def test_deliveries_are_paged_newest_first(integration: Harness, receiver: Receiver) -> None:
    hook = await integration.webhook(receiver.url("/hook"), ["cases.case_created.v1"])
    for number in ("1", "2", "3"):
        await publish(integration.runtime.transport, case_created(number))
    await wait_for(lambda: len(receiver.at("/hook")) == 3)
    response = await integration.client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", params={"limit": 2})
    page = response.json()
    rest = await integration.deliveries(hook["id"], limit=2, cursor=page["next_cursor"])
    items = page["items"] + rest
    assert len(page["items"]) == 2 and len(rest) == 1
    assert len({d["id"] for d in items}) == 3
    assert [d["created_at"] for d in items] == sorted((d["created_at"] for d in items), reverse=True)
    numbers = {json.loads(r.body)["data"]["number"] for r in receiver.at("/hook")}
    assert numbers == {"1", "2", "3"}
    bad = await integration.client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", params={"cursor": "x"})
    assert bad.status_code == 422


async def test_a_lease_hands_back_a_lost_attempt_and_fences_its_late_result(
    tmp_path: Path, database_url: str | None
) -> None:
    now = [datetime(2026, 11, 26, 9, tzinfo=UTC)]
    db = Database(
        database_url or f"sqlite+aiosqlite:///{tmp_path / 'i.db'}", Base.metadata, clock=lambda: now[0]
    )
    try:
        await upgrade(db, MIGRATIONS, service="integration")
        async with db.uow() as uow:
            hook = await service.create_webhook(
                uow, url="https://fag.example/hook", events=["#"], secret=None, description="", active=True
            )
        async with db.uow() as uow:
            assert await service.plan_deliveries(uow, envelope=make_envelope(case_created())) == 1
            await uow.commit()

        [first] = await service.claim_due(db, lease_seconds=60, limit=10)
        assert first.webhook_id == hook.id and first.attempts == 1
        assert await service.claim_due(db, lease_seconds=60, limit=10) == []  # leased
        now[0] += timedelta(seconds=61)  # the first sender went quiet
        [second] = await service.claim_due(db, lease_seconds=60, limit=10)
        assert (second.id, second.attempts) == (first.id, 2)

        policy = domain.RetryPolicy(max_attempts=2)
        late = await service.record_attempt(
            db, claimed=first, result=domain.AttemptResult(200), policy=policy, rand=0.5
        )
        assert late is None
        result = domain.AttemptResult(500, "HTTP 500")
        assert (
            await service.record_attempt(db, claimed=second, result=result, policy=policy, rand=0.5)
            == "failed"
        )
        async with db.sessions() as session:
            keys = (await session.scalars(select(outbox_table(db.metadata).c.routing_key))).all()
        assert keys == ["integration.delivery_failed.v1"]
    finally:
        await db.dispose()
