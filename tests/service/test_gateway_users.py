"""Tokens for users of the cases service, issued by the gateway; the real cases app in-process."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from services.cases.app import create_app as create_cases
from services.cases.settings import Settings as CasesSettings
from services.gateway.app import create_app as create_gateway
from services.gateway.settings import Settings as GatewaySettings
from shared.runtime import Runtime
from shared.testing import running

ADMIN = "gateway-users-admin-token-0123456789"
INTERNAL = "internal-secret-for-users"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Api:
    client: httpx.AsyncClient

    async def user(self, email: str, role: str = "agent") -> str:
        response = await self.client.post(
            "/api/v1/users", json={"email": email, "name": email, "role": role}, headers=auth(ADMIN)
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def token_for(self, user_id: str, *, by: str = ADMIN) -> httpx.Response:
        return await self.client.post(
            f"/api/v1/users/{user_id}/tokens", json={"name": "laptop"}, headers=auth(by)
        )

    async def secret_for(self, user_id: str) -> str:
        response = await self.token_for(user_id)
        assert response.status_code == 201, response.text
        return str(response.json()["token"])


@contextlib.asynccontextmanager
async def system(tmp_path: Path, *, with_cases: bool = True) -> AsyncIterator[Api]:
    runtime = Runtime.embedded(data_dir=tmp_path)
    async with runtime, contextlib.AsyncExitStack() as stack:
        if with_cases:
            cases = create_cases(CasesSettings(data_dir=tmp_path, internal_token=INTERNAL), runtime)
            await stack.enter_async_context(cases.router.lifespan_context(cases))
        gateway = create_gateway(
            GatewaySettings(data_dir=tmp_path, admin_token=ADMIN, internal_token=INTERNAL), runtime
        )
        yield Api(await stack.enter_async_context(running(gateway)))


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with system(tmp_path) as api:
        yield api


async def test_a_user_token_carries_the_user_id_and_role_and_is_shown_once(api: Api) -> None:
    lead = await api.user("lead@example.no", role="team_lead")
    response = await api.token_for(lead)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["subject"] == lead and body["role"] == "team_lead" and body["name"] == "laptop"
    me = (await api.client.get("/api/v1/me", headers=auth(body["token"]))).json()
    assert me == {"subject": lead, "role": "team_lead", "token_id": body["id"]}
    listed = (await api.client.get("/api/v1/tokens", headers=auth(ADMIN))).json()["items"]
    assert body["token"] not in str(listed)
    assert next(t for t in listed if t["id"] == body["id"])["subject"] == lead


async def test_the_route_is_in_the_public_openapi_document(api: Api) -> None:
    paths = (await api.client.get("/api/v1/openapi.json")).json()["paths"]
    assert set(paths["/api/v1/users/{user_id}/tokens"]) == {"post"}
    assert {"/api/v1/users", "/api/v1/users/{user_id}", "/api/v1/groups", "/api/v1/queues"} <= set(paths)


async def test_only_admins_issue_user_tokens(api: Api) -> None:
    agent = await api.user("agent@example.no")
    secret = await api.secret_for(agent)
    refused = await api.token_for(agent, by=secret)
    assert refused.status_code == 403
    assert (await api.client.post(f"/api/v1/users/{agent}/tokens", json={"name": "x"})).status_code == 401


async def test_unknown_inactive_and_odd_users_get_no_token(api: Api) -> None:
    assert (await api.token_for("00000000-0000-0000-0000-000000000000")).status_code == 404
    assert (await api.token_for("kari@example.no")).status_code == 404
    assert (await api.token_for("%2e%2e")).status_code == 404
    gone = await api.user("gone@example.no")
    await api.client.patch(f"/api/v1/users/{gone}", json={"active": False}, headers=auth(ADMIN))
    inactive = await api.token_for(gone)
    assert inactive.status_code == 409 and inactive.json() == {"detail": "user is not active"}
    bad = await api.client.post(f"/api/v1/users/{gone}/tokens", json={}, headers=auth(ADMIN))
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "name"]


async def test_admin_rights_at_the_gateway_follow_the_users_current_role(api: Api) -> None:
    boss = await api.user("boss@example.no", role="admin")
    secret = await api.secret_for(boss)
    colleague = await api.user("colleague@example.no")
    assert (await api.token_for(colleague, by=secret)).status_code == 201
    assert (await api.client.get("/api/v1/tokens", headers=auth(secret))).status_code == 200
    # Demoted: the token still says admin, but neither the gateway nor cases honour that.
    await api.client.patch(f"/api/v1/users/{boss}", json={"role": "agent"}, headers=auth(ADMIN))
    assert (await api.client.get("/api/v1/tokens", headers=auth(secret))).status_code == 403
    assert (await api.token_for(colleague, by=secret)).status_code == 403
    users = await api.client.post(
        "/api/v1/users", json={"email": "x@example.no", "name": "x"}, headers=auth(secret)
    )
    assert users.status_code == 403
    # An admin token for a subject that is no user of the cases service administers nothing.
    ops = await api.client.post(
        "/api/v1/tokens",
        json={"name": "ops", "subject": "ops@example.no", "role": "admin"},
        headers=auth(ADMIN),
    )
    ops_secret = ops.json()["token"]
    assert (await api.client.get("/api/v1/tokens", headers=auth(ops_secret))).status_code == 403
    assert (await api.client.get("/api/v1/cases", headers=auth(ops_secret))).json()["items"] == []


async def test_without_the_cases_service_no_user_token_is_issued(tmp_path: Path) -> None:
    async with system(tmp_path, with_cases=False) as api:
        response = await api.token_for("00000000-0000-0000-0000-000000000000")
        assert (response.status_code, response.json()) == (503, {"detail": "cases is unavailable"})
        # The bootstrap admin needs no lookup: the gateway's own admin routes keep working.
        assert (await api.client.get("/api/v1/tokens", headers=auth(ADMIN))).status_code == 200
