"""The mailboxes API of intake: configure the addresses intake takes mail for. Through the app,
on SQLite and the in-process bus."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from services.intake.app import create_app
from services.intake.mailboxes import service as mailboxes
from services.intake.settings import Settings
from shared.runtime import Runtime
from shared.testing import running

MAILBOXES = "/api/v1/mailboxes"
SECRET = "hunter2-very-secret"
IMAP = {"host": "imap.firma.no", "username": "support@firma.no"}


@contextlib.asynccontextmanager
async def intake(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    runtime = Runtime.embedded(data_dir=tmp_path)
    app = create_app(Settings(data_dir=tmp_path), runtime)
    async with runtime, running(app) as client:
        yield client, app


def support(**fields: Any) -> dict[str, Any]:
    return {
        "name": "Support",
        "addresses": ["Support@Firma.no", "hjelp@firma.no"],
        "channel": "smtp",
        **fields,
    }


async def test_create_list_get_and_patch(tmp_path: Path) -> None:
    async with intake(tmp_path) as (client, _):
        created = await client.post(MAILBOXES, json=support(routing={"queue": "IT", "priority": "high"}))
        assert created.status_code == 201, created.text
        box = created.json()
        assert box["addresses"] == ["support@firma.no", "hjelp@firma.no"]
        assert box["routing"] == {
            "type": None,
            "queue": "IT",
            "group": None,
            "assignee": None,
            "priority": "high",
        }
        assert (box["trusted"], box["unknown_senders"], box["automatic_mail"]) == (
            False,
            "create",
            "register",
        )
        assert (box["active"], box["has_secret"], box["imap"], box["partner_pattern"]) == (
            True,
            False,
            None,
            None,
        )

        listed = (await client.get(MAILBOXES)).json()
        assert [m["id"] for m in listed["items"]] == [box["id"]]
        assert (await client.get(f"{MAILBOXES}/{box['id']}")).json() == box

        patched = await client.patch(
            f"{MAILBOXES}/{box['id']}",
            json={
                "addresses": ["support@firma.no"],
                "trusted": True,
                "partner_pattern": r"INC(\d{7})",
                "automatic_mail": "drop",
                "routing": {"queue": "Drift"},
            },
        )
        assert patched.status_code == 200, patched.text
        changed = patched.json()
        assert changed["addresses"] == ["support@firma.no"]
        assert (changed["trusted"], changed["partner_pattern"], changed["automatic_mail"]) == (
            True,
            r"INC(\d{7})",
            "drop",
        )
        assert changed["routing"]["queue"] == "Drift" and changed["routing"]["priority"] is None
        assert changed["name"] == "Support" and changed["created_at"] == box["created_at"]
        assert (await client.get(f"{MAILBOXES}/{box['id']}")).json() == changed


async def test_the_secret_goes_in_and_never_comes_out(tmp_path: Path, caplog: Any) -> None:
    async with intake(tmp_path) as (client, app):
        created = await client.post(
            MAILBOXES, json=support(channel="imap", imap=IMAP, secret=SECRET, addresses=["support@firma.no"])
        )
        assert created.status_code == 201, created.text
        box = created.json()
        assert box["has_secret"] is True
        assert "secret" not in box
        assert box["imap"]["host"] == "imap.firma.no" and box["imap"]["port"] == 993
        for response in (
            created,
            await client.get(MAILBOXES),
            await client.get(f"{MAILBOXES}/{box['id']}"),
            await client.patch(f"{MAILBOXES}/{box['id']}", json={"secret": "rotated-" + SECRET}),
            await client.get("/openapi.json"),
        ):
            assert response.status_code == 200 or response.status_code == 201
            assert SECRET not in response.text
        stored = await mailboxes.get_mailbox(app.state.ctx.db, box["id"])
        assert stored.secret == "rotated-" + SECRET  # kept for the poller
    assert SECRET not in caplog.text


async def test_an_address_belongs_to_one_mailbox(tmp_path: Path) -> None:
    async with intake(tmp_path) as (client, _):
        first = (await client.post(MAILBOXES, json=support())).json()
        taken = await client.post(
            MAILBOXES,
            json={"name": "Salg", "addresses": ["salg@firma.no", "HJELP@firma.no"], "channel": "smtp"},
        )
        assert taken.status_code == 409
        assert "hjelp@firma.no" in taken.json()["detail"]
        same_name = await client.post(MAILBOXES, json={**support(), "addresses": ["annen@firma.no"]})
        assert same_name.status_code == 409

        salg = (
            await client.post(
                MAILBOXES, json={"name": "Salg", "addresses": ["salg@firma.no"], "channel": "smtp"}
            )
        ).json()
        steal = await client.patch(
            f"{MAILBOXES}/{salg['id']}", json={"addresses": ["salg@firma.no", "support@firma.no"]}
        )
        assert steal.status_code == 409
        rename = await client.patch(f"{MAILBOXES}/{salg['id']}", json={"name": "Support"})
        assert rename.status_code == 409
        # Its own addresses again are no conflict.
        keep = await client.patch(f"{MAILBOXES}/{first['id']}", json={"addresses": ["hjelp@firma.no"]})
        assert keep.status_code == 200, keep.text
        freed = await client.patch(
            f"{MAILBOXES}/{salg['id']}", json={"addresses": ["salg@firma.no", "support@firma.no"]}
        )
        assert freed.status_code == 200, freed.text


async def test_an_imap_mailbox_needs_its_settings_and_a_secret(tmp_path: Path) -> None:
    async with intake(tmp_path) as (client, _):
        for body in (
            support(channel="imap"),
            support(channel="imap", imap=IMAP),
            support(channel="imap", secret=SECRET),
            support(channel="smtp", imap=IMAP),
            support(channel="imap", imap={**IMAP, "port": 0}, secret=SECRET),
        ):
            response = await client.post(MAILBOXES, json=body)
            assert response.status_code == 422, (body, response.text)
            assert SECRET not in response.text
        assert (await client.get(MAILBOXES)).json()["items"] == []


async def test_a_partner_pattern_must_be_a_regex_with_at_most_one_group(tmp_path: Path) -> None:
    async with intake(tmp_path) as (client, _):
        for pattern in ("INC(\\d{7}", "(INC)(\\d+)", "*"):
            response = await client.post(MAILBOXES, json=support(partner_pattern=pattern))
            assert response.status_code == 422, (pattern, response.text)
        box = (await client.post(MAILBOXES, json=support(partner_pattern="INC\\d{7}"))).json()
        bad = await client.patch(f"{MAILBOXES}/{box['id']}", json={"partner_pattern": "[unclosed"})
        assert bad.status_code == 422
        assert (await client.get(f"{MAILBOXES}/{box['id']}")).json()["partner_pattern"] == "INC\\d{7}"


async def test_invalid_input_is_422_and_unknown_ids_404(tmp_path: Path) -> None:
    async with intake(tmp_path) as (client, _):
        for body in (
            support(addresses=[]),
            support(addresses=["not an address"]),
            support(channel="fax"),
            support(unknown_senders="ignore"),
            support(automatic_mail="reply"),
            support(routing={"priority": "urgent"}),
            support(colour="blue"),
        ):
            assert (await client.post(MAILBOXES, json=body)).status_code == 422, body
        assert (await client.get(f"{MAILBOXES}/nope")).status_code == 404
        assert (await client.patch(f"{MAILBOXES}/nope", json={"trusted": True})).status_code == 404
        box = (await client.post(MAILBOXES, json=support())).json()
        assert (await client.patch(f"{MAILBOXES}/{box['id']}", json={"channel": "imap"})).status_code == 422
