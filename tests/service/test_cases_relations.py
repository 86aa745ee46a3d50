"""Links, merge, time registration and the audit trail of cases, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.events.intake import MessageReceived, Routing
from shared.runtime import Runtime
from shared.testing import wait_for
from tests.support.cases import publish_mail, running_cases

NOT_FOUND = {"detail": "case not found"}


def as_user(user_id: str) -> dict[str, str]:
    return {"X-Allsak-User": user_id, "X-Allsak-Role": "agent"}


class Desk:
    def __init__(self, client: httpx.AsyncClient, runtime: Runtime, events: list[Any]) -> None:
        self.client = client
        self.runtime = runtime
        self.events = events
        self.users: dict[str, str] = {}

    def names(self) -> list[str]:
        return [e.routing_key for e in self.events]

    async def post(self, path: str, body: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        response = await self.client.post(path, json=body, **kwargs)
        assert response.status_code in (200, 201), response.text
        result: dict[str, Any] = response.json()
        return result

    async def team(self, key: str) -> None:
        group = await self.post("/api/v1/groups", {"key": key, "name": key.upper()})
        await self.post("/api/v1/queues", {"key": key.upper(), "group_id": group["id"]})
        user = await self.post("/api/v1/users", {"email": f"{key}@example.no", "name": key})
        await self.post(f"/api/v1/groups/{group['id']}/members", {"user_id": user["id"]})
        self.users[key] = user["id"]

    async def case(self, queue: str, subject: str = "Skriveren virker ikke") -> str:
        body = {
            "subject": subject,
            "requester": {"email": "kari@kunde.no"},
            "queue": queue,
            "body_text": "Hei",
        }
        return str((await self.post("/api/v1/cases", body))["number"])

    async def mail(self, **fields: Any) -> MessageReceived:
        defaults: dict[str, Any] = {
            "channel": "api",
            "sender_name": None,
            "text_body": "Hei",
            "routing": Routing(queue="IT"),
        }
        return await publish_mail(self.runtime.transport, **{**defaults, **fields})


@pytest.fixture
async def desk(tmp_path: Path, database_url: str | None) -> AsyncIterator[Desk]:
    async with running_cases(tmp_path, database_url) as c:
        desk = Desk(c.client, c.runtime, c.events)
        await desk.team("hr")
        await desk.team("it")
        yield desk


async def test_audit_records_field_changes_and_mail_articles(desk: Desk) -> None:
    it = as_user(desk.users["it"])
    mail = await desk.mail()
    await wait_for(lambda: "cases.case_created.v1" in desk.names())
    number = (await desk.client.get("/api/v1/cases")).json()["items"][0]["number"]
    patched = await desk.client.patch(f"/api/v1/cases/{number}", json={"priority": "high"}, headers=it)
    assert patched.status_code == 200, patched.text

    trail = (await desk.client.get(f"/api/v1/cases/{number}/audit", headers=it)).json()["items"]
    newest, first = trail[0], trail[-1]
    assert newest["action"] == "field_changed" and newest["field"] == "priority"
    assert newest["new"] == "high" and newest["old"] != "high"
    assert newest["actor"] == desk.users["it"] and newest["origin"] == "user"
    assert first["action"] == "article_added" and first["origin"] == "mail"
    assert first["actor"] == mail.sender_email and first["new"]["kind"] == "mail_in"

    page = (await desk.client.get(f"/api/v1/cases/{number}/audit", params={"limit": "1"})).json()
    assert page["items"][0]["id"] == newest["id"] and page["next_cursor"]
    rest = await desk.client.get(f"/api/v1/cases/{number}/audit", params={"cursor": page["next_cursor"]})
    assert [e["id"] for e in rest.json()["items"]] == [e["id"] for e in trail[1:]]

    hidden = await desk.client.get(f"/api/v1/cases/{number}/audit", headers=as_user(desk.users["hr"]))
    missing = await desk.client.get("/api/v1/cases/99999/audit", headers=as_user(desk.users["hr"]))
    assert hidden.status_code == missing.status_code == 404 and hidden.content == missing.content


async def test_links_read_from_both_sides(desk: Desk) -> None:
    it = as_user(desk.users["it"])
    parent, child, other = await desk.case("IT"), await desk.case("IT"), await desk.case("IT")
    hr_case = await desk.case("HR")
    made = await desk.client.post(
        f"/api/v1/cases/{child}/links", json={"kind": "parent", "number": parent}, headers=it
    )
    assert made.status_code == 201 and made.json()["kind"] == "parent"
    await desk.post(f"/api/v1/cases/{parent}/links", {"kind": "related", "number": other}, headers=it)

    def kinds(response: httpx.Response) -> dict[str, str]:
        return {link["number"]: link["kind"] for link in response.json()["items"]}

    assert kinds(await desk.client.get(f"/api/v1/cases/{child}/links", headers=it)) == {parent: "parent"}
    from_parent = kinds(await desk.client.get(f"/api/v1/cases/{parent}/links", headers=it))
    assert from_parent == {child: "child", other: "related"}

    again = await desk.client.post(
        f"/api/v1/cases/{parent}/links", json={"kind": "child", "number": child}, headers=it
    )
    assert again.status_code == 409
    itself = await desk.client.post(f"/api/v1/cases/{child}/links", json={"kind": "related", "number": child})
    assert itself.status_code == 422
    bad_kind = await desk.client.post(
        f"/api/v1/cases/{child}/links", json={"kind": "sibling", "number": parent}
    )
    assert bad_kind.status_code == 422
    hidden = await desk.client.post(
        f"/api/v1/cases/{child}/links", json={"kind": "related", "number": hr_case}, headers=it
    )
    missing = await desk.client.post(
        f"/api/v1/cases/{child}/links", json={"kind": "related", "number": "99999"}, headers=it
    )
    assert hidden.status_code == missing.status_code == 404 and hidden.json() == missing.json() == NOT_FOUND

    removed = await desk.client.delete(f"/api/v1/cases/{parent}/links/{child}", headers=it)
    assert removed.status_code == 204
    assert kinds(await desk.client.get(f"/api/v1/cases/{child}/links", headers=it)) == {}
    assert (await desk.client.delete(f"/api/v1/cases/{parent}/links/{child}", headers=it)).status_code == 404
    trail = (await desk.client.get(f"/api/v1/cases/{child}/audit")).json()["items"]
    assert [e["action"] for e in trail[:2]] == ["unlinked", "linked"]


async def test_merge_moves_articles_and_threading_to_the_survivor(desk: Desk) -> None:
    it = as_user(desk.users["it"])
    survivor = await desk.case("IT", "Skriver 1")
    first = await desk.mail(subject="Skriver 2 virker heller ikke")
    await wait_for(lambda: desk.names().count("cases.case_created.v1") == 2)
    merged = str(int(survivor) + 1)
    await desk.post(f"/api/v1/cases/{merged}/articles", {"kind": "note", "body_text": "Sjekket"}, headers=it)

    response = await desk.client.post(f"/api/v1/cases/{merged}/merge", json={"into": survivor}, headers=it)
    assert response.status_code == 200, response.text
    assert response.json() == {"number": merged, "into": survivor, "articles_moved": 2}
    gone = (await desk.client.get(f"/api/v1/cases/{merged}")).json()
    assert gone["status"] == "closed" and gone["articles"] == []
    kept = (await desk.client.get(f"/api/v1/cases/{survivor}")).json()
    assert [a["body_text"] for a in kept["articles"]] == ["Hei", "Hei", "Sjekket"]
    links = (await desk.client.get(f"/api/v1/cases/{merged}/links")).json()["items"]
    assert links == [{**links[0], "kind": "duplicate_of", "number": survivor}]
    await wait_for(lambda: "cases.case_merged.v1" in desk.names())
    event = next(e for e in desk.events if e.routing_key == "cases.case_merged.v1")
    assert event.payload["number"] == merged and event.payload["into"] == survivor
    assert event.payload["articles_moved"] == 2 and event.payload["actor"] == desk.users["it"]

    await desk.mail(subject="Re: uten tag", text_body="Svar", in_reply_to=[first.rfc_message_id])
    await wait_for(lambda: desk.names().count("cases.article_added.v1") == 4)
    kept = (await desk.client.get(f"/api/v1/cases/{survivor}")).json()
    assert kept["articles"][-1]["body_text"] == "Svar"
    assert (await desk.client.get(f"/api/v1/cases/{merged}")).json()["articles"] == []

    third = await desk.case("IT")
    for number, into in ((merged, third), (third, merged)):
        again = await desk.client.post(f"/api/v1/cases/{number}/merge", json={"into": into}, headers=it)
        assert again.status_code == 409
    assert (await desk.client.post(f"/api/v1/cases/{third}/merge", json={"into": third})).status_code == 422
    hr_case = await desk.case("HR")
    hidden = await desk.client.post(f"/api/v1/cases/{third}/merge", json={"into": hr_case}, headers=it)
    assert hidden.status_code == 404 and hidden.json() == NOT_FOUND


async def test_time_registration_and_totals(desk: Desk) -> None:
    it = as_user(desk.users["it"])
    number = await desk.case("IT")
    entries = [
        {"minutes": 30, "activity": "feilsøking", "billable": True, "agreement_id": "SLA-1"},
        {
            "minutes": 15,
            "activity": "oppfølging",
            "billable": False,
            "note": "ringte",
            "worked_on": "2026-01-05",
        },
    ]
    for entry in entries:
        made = await desk.client.post(f"/api/v1/cases/{number}/time", json=entry, headers=it)
        assert made.status_code == 201, made.text
        assert made.json()["actor"] == desk.users["it"]
    sheet = (await desk.client.get(f"/api/v1/cases/{number}/time", headers=it)).json()
    assert sheet["totals"] == {"minutes": 45, "billable_minutes": 30}
    assert sheet["items"][0]["worked_on"] == "2026-01-05"

    for bad in (
        {"minutes": 0},
        {"minutes": 1441},
        {"activity": ""},
        {"billable": "kanskje"},
        {"worked_on": "i går"},
    ):
        response = await desk.client.post(f"/api/v1/cases/{number}/time", json={**entries[0], **bad})
        assert response.status_code == 422, bad
    without = {k: v for k, v in entries[0].items() if k != "billable"}
    assert (await desk.client.post(f"/api/v1/cases/{number}/time", json=without)).status_code == 422
    hidden = await desk.client.get(f"/api/v1/cases/{number}/time", headers=as_user(desk.users["hr"]))
    assert hidden.status_code == 404 and hidden.json() == NOT_FOUND
