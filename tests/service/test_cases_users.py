"""Users, groups and queues of the cases service through its API, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from services.cases.app import create_app
from services.cases.settings import Settings
from shared.runtime import Runtime
from shared.testing import running

ADMIN = {"X-Allsak-User": "admin", "X-Allsak-Role": "admin"}


def as_user(user_id: str, role: str = "agent") -> dict[str, str]:
    return {"X-Allsak-User": user_id, "X-Allsak-Role": role}


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, pg_url_factory: Callable[[str], str]) -> str | None:
    return None if request.param == "sqlite" else pg_url_factory("cases")


@pytest.fixture
async def client(tmp_path: Path, database_url: str | None) -> AsyncIterator[httpx.AsyncClient]:
    runtime = Runtime.embedded(data_dir=tmp_path)
    async with runtime:
        app = create_app(Settings(data_dir=tmp_path, database_url=database_url), runtime)
        async with running(app) as client:
            yield client


async def make_user(client: httpx.AsyncClient, email: str, role: str = "agent", **extra: object) -> dict:
    response = await client.post(
        "/api/v1/users",
        json={"email": email, "name": email.split("@")[0], "role": role, **extra},
        headers=ADMIN,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_users_are_created_read_listed_and_changed(client: httpx.AsyncClient) -> None:
    kari = await make_user(client, "Kari@Example.no", available=True)
    assert kari["email"] == "kari@example.no" and kari["role"] == "agent"
    assert kari["active"] is True and kari["available"] is True and kari["groups"] == []
    assert (await client.get(f"/api/v1/users/{kari['id']}", headers=ADMIN)).json() == kari

    changed = await client.patch(
        f"/api/v1/users/{kari['id']}", json={"role": "team_lead", "name": " Kari N "}, headers=ADMIN
    )
    assert changed.status_code == 200
    assert changed.json()["role"] == "team_lead" and changed.json()["name"] == "Kari N"

    for i in range(3):
        await make_user(client, f"u{i}@example.no")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/users", params=params, headers=ADMIN)).json()
        seen += [u["email"] for u in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == ["kari@example.no", "u0@example.no", "u1@example.no", "u2@example.no"]
    assert (await client.get("/api/v1/users/nope", headers=ADMIN)).status_code == 404
    assert (
        await client.patch("/api/v1/users/nope", json={"active": False}, headers=ADMIN)
    ).status_code == 404


async def test_groups_members_and_queues(client: httpx.AsyncClient) -> None:
    kari = await make_user(client, "kari@example.no")
    group = (await client.post("/api/v1/groups", json={"key": "hr", "name": "HR"}, headers=ADMIN)).json()
    assert group["members"] == []
    added = await client.post(
        f"/api/v1/groups/{group['id']}/members", json={"user_id": kari["id"]}, headers=ADMIN
    )
    assert added.status_code == 201 and added.json()["members"] == [kari["id"]]
    assert (await client.get(f"/api/v1/users/{kari['id']}", headers=ADMIN)).json()["groups"] == [group["id"]]

    queue = await client.post(
        "/api/v1/queues",
        json={"key": "HR-lønn", "group_id": group["id"], "sender_address": "HR@Example.no"},
        headers=ADMIN,
    )
    assert queue.status_code == 201, queue.text
    body = queue.json()
    assert body["key"] == body["name"] == "HR-lønn" and body["sender_address"] == "hr@example.no"
    assert body["active"] is True and body["group_id"] == group["id"]
    queues = (await client.get("/api/v1/queues", headers=as_user(kari["id"]))).json()["items"]
    assert [q["key"] for q in queues] == ["HR-lønn", "Servicedesk"]
    groups = (await client.get("/api/v1/groups", headers=as_user(kari["id"]))).json()["items"]
    assert {g["key"]: g["members"] for g in groups} == {"hr": [kari["id"]], "Servicedesk": []}

    removed = await client.delete(f"/api/v1/groups/{group['id']}/members/{kari['id']}", headers=ADMIN)
    assert removed.status_code == 204
    assert (await client.get(f"/api/v1/users/{kari['id']}", headers=ADMIN)).json()["groups"] == []
    again = await client.delete(f"/api/v1/groups/{group['id']}/members/{kari['id']}", headers=ADMIN)
    assert again.status_code == 404


async def test_the_default_queue_exists_from_start_owned_by_the_default_group(
    client: httpx.AsyncClient,
) -> None:
    [queue] = (await client.get("/api/v1/queues")).json()["items"]
    [group] = (await client.get("/api/v1/groups")).json()["items"]
    assert (
        queue["key"] == "Servicedesk" and queue["group_id"] == group["id"] and group["key"] == "Servicedesk"
    )


async def test_duplicates_are_409(client: httpx.AsyncClient) -> None:
    kari = await make_user(client, "kari@example.no")
    ola = await make_user(client, "ola@example.no")
    twice = await client.post("/api/v1/users", json={"email": "KARI@example.no", "name": "K"}, headers=ADMIN)
    assert twice.status_code == 409 and "email" in twice.json()["detail"]
    taken = await client.patch(f"/api/v1/users/{ola['id']}", json={"email": "kari@example.no"}, headers=ADMIN)
    assert taken.status_code == 409
    own = await client.patch(f"/api/v1/users/{kari['id']}", json={"email": "kari@example.no"}, headers=ADMIN)
    assert own.status_code == 200

    group = (await client.post("/api/v1/groups", json={"key": "it", "name": "IT"}, headers=ADMIN)).json()
    assert (
        await client.post("/api/v1/groups", json={"key": "it", "name": "x"}, headers=ADMIN)
    ).status_code == 409
    member = {"user_id": kari["id"]}
    assert (
        await client.post(f"/api/v1/groups/{group['id']}/members", json=member, headers=ADMIN)
    ).status_code == 201
    assert (
        await client.post(f"/api/v1/groups/{group['id']}/members", json=member, headers=ADMIN)
    ).status_code == 409
    queue = {"key": "IT", "group_id": group["id"]}
    assert (await client.post("/api/v1/queues", json=queue, headers=ADMIN)).status_code == 201
    assert (await client.post("/api/v1/queues", json=queue, headers=ADMIN)).status_code == 409


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/users", {"email": "nope", "name": "x"}, "email"),
        ("/api/v1/users", {"email": "a@example.no", "name": ""}, "name"),
        ("/api/v1/users", {"email": "a@example.no", "name": "x", "role": "root"}, "role"),
        ("/api/v1/users", {"email": "a@example.no", "name": "x", "extra": 1}, "extra"),
        ("/api/v1/groups", {"key": " it", "name": "IT"}, "key"),
        ("/api/v1/groups", {"key": "it"}, "name"),
        ("/api/v1/queues", {"key": "IT"}, "group_id"),
        ("/api/v1/queues", {"key": "IT", "group_id": "no-such-group"}, "group_id"),
        ("/api/v1/queues", {"key": "IT\n", "group_id": "g"}, "key"),
        ("/api/v1/queues", {"key": "IT", "group_id": "g", "sender_address": "x"}, "sender_address"),
        ("/api/v1/groups/{group}/members", {"user_id": "no-such-user"}, "user_id"),
        ("/api/v1/groups/{group}/members", {}, "user_id"),
    ],
)
async def test_bad_input_is_422_with_the_field_named(
    client: httpx.AsyncClient, path: str, body: dict, field: str
) -> None:
    [group] = (await client.get("/api/v1/groups")).json()["items"]
    response = await client.post(path.format(group=group["id"]), json=body, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", field]


async def test_bad_patch_and_unknown_group_answer_422_and_404(client: httpx.AsyncClient) -> None:
    kari = await make_user(client, "kari@example.no")
    bad = await client.patch(f"/api/v1/users/{kari['id']}", json={"role": "boss"}, headers=ADMIN)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "role"]
    missing = await client.post("/api/v1/groups/nope/members", json={"user_id": kari["id"]}, headers=ADMIN)
    assert missing.status_code == 404


async def test_only_admins_change_users_groups_and_queues(client: httpx.AsyncClient) -> None:
    lead = await make_user(client, "lead@example.no", role="team_lead")
    demoted = await make_user(client, "was-admin@example.no", role="admin")
    await client.patch(f"/api/v1/users/{demoted['id']}", json={"role": "agent"}, headers=ADMIN)
    [group] = (await client.get("/api/v1/groups")).json()["items"]
    writes = [
        ("POST", "/api/v1/users", {"email": "x@example.no", "name": "x"}),
        ("PATCH", f"/api/v1/users/{lead['id']}", {"role": "admin"}),
        ("POST", "/api/v1/groups", {"key": "x", "name": "x"}),
        ("POST", f"/api/v1/groups/{group['id']}/members", {"user_id": lead["id"]}),
        ("POST", "/api/v1/queues", {"key": "x", "group_id": group["id"]}),
    ]
    callers = [
        as_user(lead["id"], "team_lead"),
        as_user(lead["id"], "admin"),  # a forged role header counts no higher than the user's role
        as_user(demoted["id"], "admin"),  # an admin's old token after demotion
        as_user("ghost", "admin"),
        {"X-Allsak-Role": "admin"},
    ]
    for headers in callers:
        for method, path, body in writes:
            response = await client.request(method, path, json=body, headers=headers)
            assert response.status_code == 403, (headers, path, response.text)
        response = await client.delete(f"/api/v1/groups/{group['id']}/members/{lead['id']}", headers=headers)
        assert response.status_code == 403
    assert (await client.get(f"/api/v1/users/{lead['id']}", headers=ADMIN)).json()["role"] == "team_lead"

    # A user this service knows may read; a stranger or an inactive user may not.
    assert (await client.get("/api/v1/users", headers=as_user(lead["id"], "team_lead"))).status_code == 200
    await client.patch(f"/api/v1/users/{lead['id']}", json={"active": False}, headers=ADMIN)
    for headers in (as_user(lead["id"], "team_lead"), as_user("ghost"), {"X-Allsak-Role": "agent"}):
        for path in ("/api/v1/users", f"/api/v1/users/{lead['id']}", "/api/v1/groups", "/api/v1/queues"):
            assert (await client.get(path, headers=headers)).status_code == 403


async def test_internal_calls_need_the_internal_token_when_one_is_set(tmp_path: Path) -> None:
    runtime = Runtime.embedded(data_dir=tmp_path)
    async with runtime:
        app = create_app(Settings(data_dir=tmp_path, internal_token="s3cret"), runtime)
        async with running(app) as client:
            assert (await client.get("/api/v1/users")).status_code == 401
            ok = await client.get("/api/v1/users", headers={"X-Allsak-Internal-Token": "s3cret"})
            assert ok.status_code == 200
