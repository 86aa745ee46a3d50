"""The small parts of shared/: blob store, envelope codec, JSON logs, aware datetimes."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from shared import logging as logs
from shared.blobs import BlobNotFound, BlobStore
from shared.db import UtcDateTime
from shared.events import decode, encode, envelope_for
from shared.events.cases import CaseCreated, Person


async def test_blob_store_is_content_addressed_and_detects_corruption(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    data = b"From: a@b.no\r\n\r\nhei \xe6\xf8\xe5"
    digest = await store.put(data)
    assert digest == hashlib.sha256(data).hexdigest()
    assert await store.put(data) == digest
    assert await store.get(digest) == data
    store.path(digest).write_bytes(b"tampered")
    with pytest.raises(OSError, match="corrupt"):
        await store.get(digest)
    with pytest.raises(BlobNotFound):
        await store.get("0" * 64)
    with pytest.raises(ValueError):
        store.path("../../etc/passwd")


def case_created() -> CaseCreated:
    return CaseCreated(
        number="10001",
        subject="Søknad om permisjon",
        status="new",
        type="leave",
        queue="HR",
        priority="normal",
        requester=Person(email="kari@kunde.no"),
        channel="mail",
        created_at=datetime(2026, 11, 26, 9, 0, tzinfo=UTC),
    )


def test_envelope_round_trips_and_names_the_event() -> None:
    oslo = timezone(timedelta(hours=1))
    envelope = envelope_for(
        case_created(),
        message_id=uuid.uuid4(),
        occurred_at=datetime(2026, 11, 26, 10, 0, tzinfo=oslo),
        correlation_id="c1",
    )
    assert envelope.routing_key == "cases.case_created.v1"
    assert envelope.occurred_at == datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    again = decode(encode(envelope))
    assert again == envelope
    assert again.event() == case_created()


def test_envelope_refuses_naive_time_and_consumers_ignore_unknown_fields() -> None:
    with pytest.raises(ValueError):
        envelope_for(
            case_created(), message_id=uuid.uuid4(), occurred_at=datetime(2026, 1, 1), correlation_id="c"
        )
    payload = {**case_created().model_dump(mode="json"), "added_in_a_later_release": 1}
    assert CaseCreated.model_validate(payload) == case_created()


def test_json_log_lines_carry_the_correlation_id() -> None:
    record = logging.LogRecord("allsak.test", logging.INFO, __file__, 1, "case %s created", ("10001",), None)
    record.queue = "cases.on_message_received"
    token = logs.correlation_id.set("corr-123")
    try:
        line = json.loads(logs.JsonFormatter().format(record))
    finally:
        logs.correlation_id.reset(token)
    assert line["msg"] == "case 10001 created"
    assert line["correlation_id"] == "corr-123"
    assert line["queue"] == "cases.on_message_received"


def test_utc_datetime_column_refuses_naive_and_returns_aware() -> None:
    column = UtcDateTime()
    with pytest.raises(ValueError):
        column.process_bind_param(datetime(2026, 1, 1), None)  # type: ignore[arg-type]
    assert column.process_result_value(datetime(2026, 1, 1, 12), None) == datetime(2026, 1, 1, 12, tzinfo=UTC)  # type: ignore[arg-type]
