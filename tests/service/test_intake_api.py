"""The intake service through its app, on SQLite and the in-process bus."""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from services.intake import service
from services.intake.app import create_app
from services.intake.domain import Limits, Parsed, Rejected
from services.intake.settings import Settings
from shared.bus import Message, Subscription
from shared.events import Envelope, decode
from shared.outbox import outbox_table
from shared.runtime import Runtime
from shared.testing import running, wait_for

MAIL = "/api/v1/intake/mail"
RFC822 = {"Content-Type": "message/rfc822"}
RECEIVED = "intake.message_received.v1"
QUARANTINED = "intake.message_quarantined.v1"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def received_count() -> float:
    return sample("allsak_intake_messages_received_total", channel="api")


def quarantined_count(reason: str) -> float:
    return sample("allsak_intake_messages_quarantined_total", reason=reason)


def mail(n: int = 1, *, sender: str = "Kari Nordmann <kari@Kunde.NO>", extra: str = "") -> bytes:
    return (
        f"From: {sender}\r\n"
        "To: support@firma.no\r\n"
        f"Subject: =?utf-8?q?Skriveren_p=C3=A5_{n}=2E_etasje?=\r\n"
        f"Message-ID: <m{n}@kunde.no>\r\n"
        "References: <root@kunde.no>\r\n"
        f"{extra}"
        "Content-Type: text/plain; charset=iso-8859-1\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
    ).encode() + f"Den virker ikke, {n}. gang. Hilsen fra Tromsø\r\n".encode("iso-8859-1")


GARBAGE = bytes(range(256)) * 3 + b"\r\n\x00trailing\n\r"


class Harness:
    def __init__(self, client: httpx.AsyncClient, runtime: Runtime, app: Any, events: list[Envelope]):
        self.client = client
        self.runtime = runtime
        self.app = app
        self.events = events

    def named(self, routing_key: str) -> list[dict[str, Any]]:
        return [e.payload for e in self.events if e.routing_key == routing_key]

    async def post(self, raw: bytes, **headers: str) -> httpx.Response:
        return await self.client.post(MAIL, content=raw, headers=headers or RFC822)

    async def event_for(self, routing_key: str, message_id: str) -> dict[str, Any]:
        found: list[dict[str, Any]] = await wait_for(
            lambda: [p for p in self.named(routing_key) if p["id"] == message_id]
        )
        return found[0]

    async def outbox_rows(self) -> int:
        db = self.app.state.ctx.db
        async with db.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(outbox_table(db.metadata))))


@contextlib.asynccontextmanager
async def intake(tmp_path: Path, **settings: Any) -> AsyncIterator[Harness]:
    runtime = Runtime.embedded(data_dir=tmp_path)
    app = create_app(Settings(data_dir=tmp_path, **settings), runtime)
    events: list[Envelope] = []

    async def record(message: Message) -> None:
        events.append(decode(message.body))

    async with runtime:
        # Bound before anything is posted, so no event can pass unseen.
        await runtime.transport.consume(
            Subscription(queue="test.intake", patterns=("intake.#",), handler=record)
        )
        async with running(app) as client:
            yield Harness(client, runtime, app, events)


async def test_a_message_is_stored_then_announced_and_answered_202(tmp_path: Path) -> None:
    before = received_count()
    raw = mail(1)
    async with intake(tmp_path) as h:
        response = await h.post(raw)
        assert response.status_code == 202, response.text
        answer = response.json()
        assert answer == {"id": answer["id"], "status": "received", "duplicate": False}

        event = await h.event_for(RECEIVED, answer["id"])
        digest = hashlib.sha256(raw).hexdigest()
        assert event["channel"] == "api"
        assert event["raw_sha256"] == digest
        assert event["sender_email"] == "kari@kunde.no"
        assert event["sender_name"] == "Kari Nordmann"
        assert event["subject"] == "Skriveren på 1. etasje"
        assert event["text_body"] == "Den virker ikke, 1. gang. Hilsen fra Tromsø"
        assert event["rfc_message_id"] == "<m1@kunde.no>"
        assert event["references"] == ["<root@kunde.no>"]
        assert event["to"] == ["support@firma.no"]
        assert event["auto_submitted"] is False
        assert await h.runtime.blobs.get(digest) == raw

        status = (await h.client.get(f"/api/v1/intake/messages/{answer['id']}")).json()
        assert status["status"] == "in_progress" and status["state"] == "received"
        assert status["raw_sha256"] == digest
        assert status["size"] == len(raw)
        assert status["quarantine"] is None
        assert status["received_at"] == event["received_at"]
        assert h.named(QUARANTINED) == []
    assert received_count() == before + 1


async def test_the_same_bytes_again_are_a_duplicate_and_announce_nothing(tmp_path: Path) -> None:
    before = received_count()
    async with intake(tmp_path) as h:
        first = (await h.post(mail(1))).json()
        again = await h.post(mail(1), **{"Content-Type": "application/octet-stream"})
        assert again.status_code == 202
        assert again.json() == {"id": first["id"], "status": "received", "duplicate": True}
        assert await h.outbox_rows() == 1

        # The relay publishes in order: once the next message's event is here, a second event
        # for the first message would have been too.
        other = (await h.post(mail(2))).json()
        await h.event_for(RECEIVED, other["id"])
        assert [p["id"] for p in h.named(RECEIVED)] == [first["id"], other["id"]]
    assert received_count() == before + 2


async def test_garbage_is_quarantined_and_its_bytes_kept_exactly(tmp_path: Path) -> None:
    before = quarantined_count("parse_error")
    async with intake(tmp_path) as h:
        response = await h.post(GARBAGE, **{"Content-Type": "text/plain; charset=utf-8"})
        assert response.status_code == 202, response.text
        answer = response.json()
        assert answer["status"] == "quarantined"
        assert answer["reason"] == "parse_error"
        assert answer["duplicate"] is False
        qid = answer["quarantine_id"]

        event = await h.event_for(QUARANTINED, answer["id"])
        assert event["reason"] == "parse_error"
        assert event["raw_sha256"] == hashlib.sha256(GARBAGE).hexdigest()
        assert h.named(RECEIVED) == []

        raw = await h.client.get(f"/api/v1/intake/quarantine/{qid}/raw")
        assert raw.status_code == 200
        assert raw.headers["content-type"] == "message/rfc822"
        assert raw.content == GARBAGE
        assert hashlib.sha256(raw.content).hexdigest() == event["raw_sha256"]

        entry = (await h.client.get(f"/api/v1/intake/quarantine/{qid}")).json()
        assert entry["message_id"] == answer["id"]
        assert entry["reason"] == "parse_error"
        assert entry["detail"]
        assert entry["headers"] == []
        assert entry["resolved_at"] is None
        assert entry["raw_url"] == f"/api/v1/intake/quarantine/{qid}/raw"

        status = (await h.client.get(f"/api/v1/intake/messages/{answer['id']}")).json()
        assert status["status"] == "quarantined"
        assert status["quarantine"]["id"] == qid

        ready = (await h.client.get("/readyz")).json()
        assert ready["checks"]["quarantine_waiting"] == 1
        assert sample("allsak_intake_quarantine_waiting") == 1

        again = (await h.post(GARBAGE)).json()
        assert again == {**answer, "duplicate": True}
    assert quarantined_count("parse_error") == before + 1


async def test_a_message_without_a_sender_shows_the_headers_it_had(tmp_path: Path) -> None:
    async with intake(tmp_path) as h:
        answer = (await h.post(b"Subject: =?utf-8?q?Hj=C3=A6lp?=\r\nReturn-Path: <>\r\n\r\nbody\r\n")).json()
        assert answer["reason"] == "no_sender"
        entry = (await h.client.get(f"/api/v1/intake/quarantine/{answer['quarantine_id']}")).json()
        assert {"name": "Subject", "value": "Hjælp"} in entry["headers"]
        status = (await h.client.get(f"/api/v1/intake/messages/{answer['id']}")).json()
        assert status["subject"] == "Hjælp"
        assert status["sender_email"] is None


async def test_limits_on_parts_quarantine_with_their_reason(tmp_path: Path) -> None:
    before = quarantined_count("too_many_parts")
    parts = "".join(f"--b\r\nContent-Type: text/plain\r\n\r\npart {i}\r\n" for i in range(5))
    raw = (
        "From: a@kunde.no\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        f"{parts}--b--\r\n"
    ).encode()
    async with intake(tmp_path, max_parts=3) as h:
        answer = (await h.post(raw)).json()
        assert answer["reason"] == "too_many_parts"
        await h.event_for(QUARANTINED, answer["id"])
    assert quarantined_count("too_many_parts") == before + 1


async def test_a_retry_that_still_fails_is_409_and_a_discard_keeps_the_record(tmp_path: Path) -> None:
    async with intake(tmp_path) as h:
        answer = (await h.post(GARBAGE)).json()
        qid = answer["quarantine_id"]
        retry = await h.client.post(f"/api/v1/intake/quarantine/{qid}/retry")
        assert retry.status_code == 409
        assert retry.json()["detail"]["reason"] == "parse_error"
        assert (await h.client.get(f"/api/v1/intake/quarantine/{qid}")).json()["resolved_at"] is None

        discard = await h.client.post(f"/api/v1/intake/quarantine/{qid}/discard")
        assert discard.status_code == 200
        assert discard.json()["resolution"] == "discarded"
        assert discard.json()["resolved_at"] is not None
        assert (await h.client.post(f"/api/v1/intake/quarantine/{qid}/discard")).status_code == 409
        assert (await h.client.post(f"/api/v1/intake/quarantine/{qid}/retry")).status_code == 409

        status = (await h.client.get(f"/api/v1/intake/messages/{answer['id']}")).json()
        assert status["status"] == "discarded"
        assert status["quarantine"]["resolution"] == "discarded"
        assert (await h.client.get(f"/api/v1/intake/quarantine/{qid}/raw")).content == GARBAGE
        assert (await h.client.get("/readyz")).json()["checks"]["quarantine_waiting"] == 0
        assert h.named(RECEIVED) == []


async def test_a_parse_that_times_out_is_quarantined_and_released_by_retry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    real = service.parse_message

    def stuck(raw: bytes, *, limits: Limits) -> Parsed | Rejected:
        release.wait(30)
        return real(raw, limits=limits)

    before = quarantined_count("timeout")
    monkeypatch.setattr(service, "parse_message", stuck)
    try:
        async with intake(tmp_path, parse_timeout_seconds=0.05) as h:
            answer = (await h.post(mail(7))).json()
            assert answer["status"] == "quarantined"
            assert answer["reason"] == "timeout"
            await h.event_for(QUARANTINED, answer["id"])
            assert quarantined_count("timeout") == before + 1

            release.set()
            monkeypatch.setattr(service, "parse_message", real)
            retry = await h.client.post(f"/api/v1/intake/quarantine/{answer['quarantine_id']}/retry")
            assert retry.status_code == 200, retry.text
            assert retry.json()["resolution"] == "retried"

            event = await h.event_for(RECEIVED, answer["id"])
            assert event["sender_email"] == "kari@kunde.no"
            assert event["subject"] == "Skriveren på 7. etasje"
            status = (await h.client.get(f"/api/v1/intake/messages/{answer['id']}")).json()
            assert status["status"] == "in_progress" and status["state"] == "received"
            assert status["subject"] == "Skriveren på 7. etasje"
            assert status["quarantine"]["resolution"] == "retried"
            again = await h.client.post(f"/api/v1/intake/quarantine/{answer['quarantine_id']}/retry")
            assert again.status_code == 409
            assert len(h.named(RECEIVED)) == 1
    finally:
        release.set()


async def test_what_is_not_a_message_is_refused_and_nothing_stored(tmp_path: Path) -> None:
    async with intake(tmp_path, max_message_bytes=1000) as h:
        json_post = await h.client.post(MAIL, json={"raw": "x"})
        assert json_post.status_code == 415
        assert "message/rfc822" in json_post.json()["detail"]
        bare = await h.client.post(MAIL, content=mail(1), headers={"Content-Type": ""})
        assert bare.status_code == 415

        empty = await h.post(b"")
        assert empty.status_code == 422
        assert "empty" in empty.json()["detail"]

        assert (await h.post(b"x" * 1001)).status_code == 413

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(3):
                yield b"y" * 400

        streamed = await h.client.post(MAIL, content=chunks(), headers=RFC822)
        assert streamed.status_code == 413
        assert "1000 bytes" in streamed.json()["detail"]

        assert (await h.post(mail(1))).status_code == 202  # just under the limit
        stored = [p for p in h.runtime.blobs.root.rglob("*") if p.is_file()]
        assert len(stored) == 1


async def test_quarantine_is_listed_newest_first_a_page_at_a_time(tmp_path: Path) -> None:
    async with intake(tmp_path) as h:
        posted = [(await h.post(GARBAGE + bytes([n]))).json()["quarantine_id"] for n in range(3)]
        await h.client.post(f"/api/v1/intake/quarantine/{posted[0]}/discard")

        first = (await h.client.get("/api/v1/intake/quarantine", params={"limit": 2})).json()
        assert len(first["items"]) == 2 and first["next_cursor"]
        second = (
            await h.client.get(
                "/api/v1/intake/quarantine", params={"limit": 2, "cursor": first["next_cursor"]}
            )
        ).json()
        assert second["next_cursor"] is None
        items = first["items"] + second["items"]
        assert sorted(i["id"] for i in items) == sorted(posted)
        stamps = [i["created_at"] for i in items]
        assert stamps == sorted(stamps, reverse=True)

        waiting = (await h.client.get("/api/v1/intake/quarantine", params={"waiting": "true"})).json()
        assert sorted(i["id"] for i in waiting["items"]) == sorted(posted[1:])
        bad = await h.client.get("/api/v1/intake/quarantine", params={"cursor": "not-a-cursor"})
        assert bad.status_code == 422


async def test_unknown_ids_are_404(tmp_path: Path) -> None:
    async with intake(tmp_path) as h:
        assert (await h.client.get("/api/v1/intake/messages/nope")).status_code == 404
        assert (await h.client.get("/api/v1/intake/quarantine/nope")).status_code == 404
        assert (await h.client.get("/api/v1/intake/quarantine/nope/raw")).status_code == 404
        assert (await h.client.post("/api/v1/intake/quarantine/nope/retry")).status_code == 404
        assert (await h.client.post("/api/v1/intake/quarantine/nope/discard")).status_code == 404


async def test_a_raw_message_that_no_longer_matches_its_hash_is_not_served(tmp_path: Path) -> None:
    async with intake(tmp_path) as h:
        answer = (await h.post(GARBAGE)).json()
        entry = (await h.client.get(f"/api/v1/intake/quarantine/{answer['quarantine_id']}")).json()
        h.runtime.blobs.path(entry["raw_sha256"]).write_bytes(GARBAGE + b"tampered")
        response = await h.client.get(entry["raw_url"])
        assert response.status_code == 500
        assert "corrupt" in response.json()["detail"]


async def test_the_metrics_endpoint_shows_intake_counters(tmp_path: Path) -> None:
    async with intake(tmp_path) as h:
        await h.post(mail(1))
        text = (await h.client.get("/metrics")).text
        assert 'allsak_intake_messages_received_total{channel="api"}' in text
        assert "allsak_intake_quarantine_waiting" in text
