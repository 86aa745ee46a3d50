"""The per-recipient cap on automatic mail and our own addresses: the pure rule, then notify
through the bus and its API, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from services.notify.app import create_app
from services.notify.caps import cap_refusal, is_automatic, recipient_key
from services.notify.compose import acknowledgement_refusal, mailbox_key
from services.notify.settings import Settings
from shared.events.cases import CaseCreated, Person
from shared.runtime import Runtime
from shared.testing import publish, running, wait_for

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=10)


# The rule, pure


def test_cap_counts_mails_inside_the_window_only() -> None:
    inside = [NOW - timedelta(minutes=m) for m in range(9)]  # 9 mails, the oldest 8 minutes ago
    assert cap_refusal(recipient="kari@kunde.no", earlier=inside, now=NOW, cap=10, window=WINDOW) is None
    tenth = [*inside, NOW - timedelta(minutes=9, seconds=59)]
    reason = cap_refusal(recipient="kari@kunde.no", earlier=tenth, now=NOW, cap=10, window=WINDOW)
    assert reason == "cap reached: 10 automatic mails to kari@kunde.no in the last 10 minutes (at most 10)"
    # Exactly one window ago has left the window.
    edge = [*inside, NOW - WINDOW]
    assert cap_refusal(recipient="kari@kunde.no", earlier=edge, now=NOW, cap=10, window=WINDOW) is None


def test_a_mail_registered_while_waiting_for_the_lock_counts() -> None:
    # A competing consumer took its clock reading, then waited for the recipient's lock while
    # another registered a mail a moment "later": that mail is in the window all the same.
    later = [NOW + timedelta(milliseconds=5)]
    assert cap_refusal(recipient="a@b.no", earlier=later, now=NOW, cap=1, window=WINDOW) is not None


def test_cap_of_one_and_odd_windows() -> None:
    once = [NOW - timedelta(seconds=30)]
    reason = cap_refusal(recipient="a@b.no", earlier=once, now=NOW, cap=1, window=timedelta(seconds=90))
    assert reason is not None and "in the last 1.5 minutes (at most 1)" in reason
    with pytest.raises(ValueError):
        cap_refusal(recipient="a@b.no", earlier=[], now=NOW.replace(tzinfo=None), cap=1, window=WINDOW)


def test_what_counts_as_automatic_and_as_one_recipient() -> None:
    assert is_automatic("acknowledgement") and not is_automatic("reply")
    assert recipient_key(" Kari@Kunde.NO ") == "kari@kunde.no"


def test_our_own_addresses_compare_as_mailboxes() -> None:
    assert mailbox_key("Support+Loop@Allsak.Local") == "support@allsak.local"
    own = {"support@allsak.local"}
    for requester in ("support@allsak.local", "SUPPORT+x@allsak.local"):
        event = case_created("1", requester=Person(email=requester))
        assert "one of our own addresses" in (acknowledgement_refusal(event, own_addresses=own) or "")
    assert acknowledgement_refusal(case_created("1"), own_addresses=own) is None


# Notify, through the bus


def case_created(number: str, **changes: Any) -> CaseCreated:
    fields: dict[str, Any] = dict(
        number=number,
        subject="Skriveren virker ikke",
        status="new",
        type="incident",
        queue="Servicedesk",
        priority="normal",
        requester=Person(email="kari@kunde.no", name="Kari Nordmann"),
        channel="mail",
        created_at=datetime.now(UTC),
        source_message_id=f"<{uuid.uuid4()}@kunde.no>",
    )
    fields.update(changes)
    return CaseCreated(**fields)


def handled() -> float:
    labels = {"service": "notify", "queue": "notify.on_case_created", "outcome": "ok"}
    return REGISTRY.get_sample_value("allsak_bus_messages_consumed_total", labels) or 0.0


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, pg_url_factory: Callable[[str], str]) -> str | None:
    return None if request.param == "sqlite" else pg_url_factory("notify")


@dataclass
class Notify:
    client: httpx.AsyncClient
    runtime: Runtime


@pytest.fixture
async def notify(tmp_path: Path, database_url: str | None) -> AsyncIterator[Notify]:
    runtime = Runtime.embedded(data_dir=tmp_path)
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        smtp_url=None,
        auto_mail_cap=3,
        own_addresses=["Post <post@allsak.local>"],
        outbox_poll_seconds=0.05,
    )
    async with runtime:
        app = create_app(settings, runtime)
        async with running(app) as client:
            yield Notify(client, runtime)


async def mails(client: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/outgoing-mail", params={"limit": "200", **params})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_settings_default_to_ten_mails_in_ten_minutes(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert (settings.auto_mail_cap, settings.auto_mail_cap_minutes) == (10, 10.0)


async def test_over_the_cap_the_mail_is_recorded_as_suppressed(notify: Notify) -> None:
    transport = notify.runtime.transport
    before = handled()
    for number in range(10001, 10006):
        # Address case differs: one recipient all the same.
        email = "Kari@Kunde.no" if number % 2 else "kari@kunde.no"
        await publish(transport, case_created(str(number), requester=Person(email=email)))
    await publish(transport, case_created("10006", requester=Person(email="per@kunde.no")))
    await publish(transport, case_created("10007", requester=Person(email="post+x@allsak.local")))
    await wait_for(lambda: handled() - before >= 7)

    all_mail = await mails(notify.client)
    kari = [m for m in all_mail if [t.lower() for t in m["to"]] == ["kari@kunde.no"]]
    assert len(kari) == 5
    suppressed = [m for m in kari if m["status"] == "suppressed"]
    assert len(suppressed) == 2
    assert all(
        m["suppressed_reason"].startswith("cap reached: 3 automatic mails to kari@kunde.no")
        for m in suppressed
    )
    assert all(m["next_attempt_at"] is None and m["attempts"] == 0 for m in suppressed)
    assert await mails(notify.client, status="suppressed") == suppressed
    # Another recipient has a cap of their own; our own address gets nothing at all.
    assert [m["case_number"] for m in all_mail if m["to"] == ["per@kunde.no"]] == ["10006"]
    assert [m for m in all_mail if m["case_number"] == "10007"] == []
    # The ones within the cap are sent; the suppressed stay as they are.
    await wait_for(lambda: _sent(notify.client, 4))
    assert len(await mails(notify.client, status="suppressed")) == 2


async def _sent(client: httpx.AsyncClient, expected: int) -> list[dict[str, Any]] | None:
    sent = await mails(client, status="sent")
    return sent if len(sent) == expected else None
