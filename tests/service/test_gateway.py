"""The gateway against small fake services registered in the runtime under the real names."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse

from services.gateway import repository, service
from services.gateway.app import create_app, readiness
from services.gateway.auth import ADMIN_TOKEN_NAME, Role
from services.gateway.models import Base
from services.gateway.settings import Settings
from shared.bus.memory import MemoryTransport
from shared.db import Database
from shared.migrations import upgrade
from shared.runtime import Mode, Runtime
from shared.testing import running

ADMIN = "admin-token-for-tests-0123456789abcdef"
INTERNAL = "internal-secret"
MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "gateway" / "migrations" / "versions"
XSS = "<script>alert(1)</script>"
RAW_MAIL = (
    b"From: Kari <kari@example.no>\r\nTo: it@example.no\r\nSubject: =?utf-8?q?Skriver_p=C3=A5_3?=\r\n"
    b"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    b"Hei,\r\nskriveren p\xe5 3. etasje\r\n.\r\n\x00 \xff trailing spaces   \r\n"
)
INVALID = b'{"detail":[{"type":"missing","loc":["body","subject"],"msg":"Field required","input":{}}]}'
CASE = {
    "number": "10023",
    "subject": XSS,
    "status": "awaiting_parts",
    "status_category": "waiting_for_third_party",
    "type": "incident",
    "queue": "IT",
    "priority": "normal",
    "requester": {"email": "ola@example.no", "name": "Ola <b>Nordmann</b>"},
    "assignee": None,
    "fields": {"device": "printer_2", "serial": "SN-1 <b>", "legacy": True},
    "sla": {"first_response_due_at": None, "resolution_due_at": "2026-03-04T15:00:00Z"},
    "created_at": "2026-03-02T08:00:00Z",
    "updated_at": "2026-03-02T09:15:00+00:00",
}
FORM = {
    "type": "incident",
    "channel": "agent",
    "fields": [
        {"key": "serial", "labels": {"en": "Serial number", "nb": "Serienummer"}, "kind": "text"},
        {
            "key": "device",
            "labels": {"en": "Device", "nb": "Enhet"},
            "kind": "select",
            "options": [{"key": "printer_2", "labels": {"en": "Printer", "nb": "Skriver"}}],
        },
        {"key": "room", "labels": {"en": "Room", "nb": "Rom"}, "kind": "text"},
    ],
}
ARTICLE = {
    "kind": "mail_in",
    "from": {"email": "ola@example.no", "name": "Ola"},
    "subject": "Skriver",
    "body_text": "Hei\n<img src=x onerror=alert(2)>\nMvh Ola",
    "created_at": "2026-03-02T08:00:00Z",
}


@dataclass
class Fakes:
    """What the fake services received."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    mails: list[tuple[str | None, bytes]] = field(default_factory=list)

    async def record(self, request: Request) -> dict[str, Any]:
        seen = {
            "method": request.method,
            "path": request.url.path,
            "raw_path": request.scope.get("raw_path", b"").decode(),
            "query": request.url.query,
            "headers": {k.lower(): v for k, v in request.headers.items()},
            "body": (await request.body()).decode(errors="replace"),
        }
        self.requests.append(seen)
        return seen

    def cases(self) -> FastAPI:
        app = FastAPI(title="fake cases")

        @app.get("/healthz")
        async def healthz() -> dict[str, str]:
            return {"status": "ok"}

        @app.get("/api/v1/cases")
        async def list_cases(request: Request, cursor: str | None = None) -> dict[str, Any]:
            await self.record(request)
            if cursor:
                return {"items": [{**CASE, "number": "10001", "subject": "Eldre sak"}], "next_cursor": None}
            return {"items": [CASE], "next_cursor": "10023"}

        @app.get("/api/v1/cases/{number}")
        async def get_case(number: str, request: Request) -> dict[str, Any]:
            await self.record(request)
            if number != "10023":
                raise HTTPException(404, "case not found")
            return {**CASE, "articles": [ARTICLE]}

        @app.get("/api/v1/case-types/{key}/forms/{channel}")
        async def get_form(key: str, channel: str) -> dict[str, Any]:
            return FORM

        @app.post("/api/v1/cases")
        async def create_case() -> Response:
            return Response(INVALID, status_code=422, media_type="application/json")

        @app.put("/api/v1/customers/{rest:path}")
        async def echo(request: Request) -> JSONResponse:
            headers = {
                "Location": "http://cases/api/v1/customers/7",
                "Retry-After": "3",
                "Content-Disposition": 'attachment; filename="c.csv"',
                "Set-Cookie": "downstream=1",
                "X-Internal-Detail": "leak",
            }
            return JSONResponse(await self.record(request), status_code=201, headers=headers)

        return app

    def intake(self) -> FastAPI:
        app = FastAPI(title="fake intake")

        @app.post("/api/v1/intake/mail", status_code=202)
        async def mail(request: Request) -> dict[str, str]:
            self.mails.append((request.headers.get("content-type"), await request.body()))
            return {"status": "stored"}

        return app

    def reporting(self) -> FastAPI:
        app = FastAPI(title="fake reporting")

        @app.get("/api/v1/reports/slow")
        async def slow() -> None:
            raise httpx.ReadTimeout("the report took too long")

        @app.get("/api/v1/reports/broken")
        async def broken() -> None:
            raise RuntimeError("bug in reporting")

        return app


@dataclass
class Harness:
    client: httpx.AsyncClient
    fakes: Fakes
    app: FastAPI

    async def token(self, role: str = "agent", subject: str = "kari@example.no") -> str:
        response = await self.client.post(
            "/api/v1/tokens", json={"name": "test", "subject": subject, "role": role}, headers=auth(ADMIN)
        )
        assert response.status_code == 201, response.text
        return str(response.json()["token"])

    async def login(self, token: str, next: str = "") -> str:
        response = await self.client.post("/login", data={"token": token, "next": next})
        assert response.status_code == 303, response.text
        return response.cookies["allsak_session"]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def session(cookie: str, **headers: str) -> dict[str, str]:
    return {"Cookie": f"allsak_session={cookie}", **headers}


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[Harness]:
    runtime = Runtime.embedded(data_dir=tmp_path)
    fakes = Fakes()
    runtime.register_app("cases", fakes.cases())
    runtime.register_app("intake", fakes.intake())
    runtime.register_app("reporting", fakes.reporting())
    # notify and integration are not part of this process: the gateway answers 503 for them.
    settings = Settings(data_dir=tmp_path, admin_token=ADMIN, internal_token=INTERNAL)
    app = create_app(settings, runtime)
    async with runtime, running(app) as client:
        yield Harness(client, fakes, app)


# --- authentication -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers", [{}, auth("wrong"), {"Authorization": f"Basic {ADMIN}"}, {"Authorization": "Bearer"}]
)
async def test_api_needs_a_valid_bearer_token(gateway: Harness, headers: dict[str, str]) -> None:
    for path in ("/api/v1/me", "/api/v1/cases", "/api/v1/nonsense"):
        response = await gateway.client.get(path, headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert set(response.json()) == {"detail"}
    assert gateway.fakes.requests == []


async def test_admin_token_from_settings_works(gateway: Harness) -> None:
    response = await gateway.client.get("/api/v1/me", headers=auth(ADMIN))
    assert response.status_code == 200
    assert response.json()["subject"] == "admin" and response.json()["role"] == "admin"


async def test_tokens_are_created_listed_and_revoked_by_admins_only(gateway: Harness) -> None:
    created = await gateway.client.post(
        "/api/v1/tokens",
        json={"name": "Kari's laptop", "subject": "kari@example.no", "role": "team_lead"},
        headers=auth(ADMIN),
    )
    assert created.status_code == 201
    body = created.json()
    secret, token_id = body["token"], body["id"]
    me = (await gateway.client.get("/api/v1/me", headers=auth(secret))).json()
    assert me == {"subject": "kari@example.no", "role": "team_lead", "token_id": token_id}

    for call in (
        gateway.client.get("/api/v1/tokens", headers=auth(secret)),
        gateway.client.post("/api/v1/tokens", json=body | {"token": None}, headers=auth(secret)),
        gateway.client.delete(f"/api/v1/tokens/{token_id}", headers=auth(secret)),
    ):
        assert (await call).status_code == 403

    listed = (await gateway.client.get("/api/v1/tokens", headers=auth(ADMIN))).json()["items"]
    assert {t["name"] for t in listed} == {ADMIN_TOKEN_NAME, "Kari's laptop"}
    assert secret not in str(listed) and all("token" not in t and "token_hash" not in t for t in listed)

    assert (await gateway.client.delete(f"/api/v1/tokens/{token_id}", headers=auth(ADMIN))).status_code == 204
    revoked = await gateway.client.get("/api/v1/me", headers=auth(secret))
    assert revoked.status_code == 401 and revoked.headers["www-authenticate"] == "Bearer"
    assert (await gateway.client.delete("/api/v1/tokens/nope", headers=auth(ADMIN))).status_code == 404
    listed = (await gateway.client.get("/api/v1/tokens", headers=auth(ADMIN))).json()["items"]
    assert next(t for t in listed if t["id"] == token_id)["revoked_at"] is not None


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "subject": "kari@example.no", "role": "root"},
        {"name": "x", "subject": "kari nordmann", "role": "agent"},
        {"name": "x", "subject": "kåri@example.no", "role": "agent"},
        {"name": "", "subject": "kari", "role": "agent"},
    ],
)
async def test_token_requests_are_validated(gateway: Harness, body: dict[str, str]) -> None:
    response = await gateway.client.post("/api/v1/tokens", json=body, headers=auth(ADMIN))
    assert response.status_code == 422


# --- proxy -------------------------------------------------------------------------------------


async def test_request_reaches_the_owner_with_verified_identity_only(gateway: Harness) -> None:
    token = await gateway.token(subject="kari@example.no", role="agent")
    response = await gateway.client.put(
        "/api/v1/customers/7/notes?x=1&y=%2B%20",
        content=b'{"note": "hei"}',
        headers={
            **auth(token),
            "Content-Type": "application/json",
            "Accept": "application/json",
            "X-Allsak-User": "mallory",
            "X-Allsak-Role": "admin",
            "X-Allsak-Internal-Token": "guess",
            "X-Correlation-ID": "corr-42",
            "Cookie": "allsak_session=abc",
        },
    )
    assert response.status_code == 201
    seen = gateway.fakes.requests[-1]
    assert seen["method"] == "PUT" and seen["path"] == "/api/v1/customers/7/notes"
    assert seen["query"] == "x=1&y=%2B%20" and seen["body"] == '{"note": "hei"}'
    headers = seen["headers"]
    assert headers["x-allsak-user"] == "kari@example.no" and headers["x-allsak-role"] == "agent"
    assert headers["x-allsak-internal-token"] == INTERNAL
    assert headers["x-correlation-id"] == "corr-42"
    assert headers["content-type"] == "application/json" and headers["accept"] == "application/json"
    assert "authorization" not in headers and "cookie" not in headers
    # Only the allowed response headers come back; a Location on the service becomes a gateway path.
    assert response.headers["location"] == "/api/v1/customers/7"
    assert response.headers["retry-after"] == "3"
    assert response.headers["content-disposition"] == 'attachment; filename="c.csv"'
    assert "set-cookie" not in response.headers and "x-internal-detail" not in response.headers


async def test_raw_mail_arrives_byte_identical(gateway: Harness) -> None:
    response = await gateway.client.post(
        "/api/v1/intake/mail",
        content=RAW_MAIL,
        headers={**auth(ADMIN), "Content-Type": "message/rfc822"},
    )
    assert response.status_code == 202
    assert gateway.fakes.mails == [("message/rfc822", RAW_MAIL)]


async def test_error_bodies_pass_through_unchanged(gateway: Harness) -> None:
    response = await gateway.client.post("/api/v1/cases", json={}, headers=auth(ADMIN))
    assert response.status_code == 422
    assert response.content == INVALID
    assert response.headers["content-type"] == "application/json"
    missing = await gateway.client.get("/api/v1/cases/99999", headers=auth(ADMIN))
    assert missing.status_code == 404 and missing.json() == {"detail": "case not found"}


async def test_unknown_and_escaping_paths_are_404(gateway: Harness) -> None:
    unknown = await gateway.client.get("/api/v1/spaceships/1", headers=auth(ADMIN))
    assert unknown.status_code == 404 and "/api/v1/spaceships" in unknown.json()["detail"]
    escaping = await gateway.client.get("/api/v1/cases/%2e%2e/%2e%2e/healthz", headers=auth(ADMIN))
    assert escaping.status_code == 404
    assert (await gateway.client.put("/api/v1/tokens", headers=auth(ADMIN))).status_code == 405
    assert gateway.fakes.requests == []


@pytest.mark.parametrize(
    ("path", "status", "detail"),
    [
        ("/api/v1/outgoing-mail", 503, "notify is unavailable"),
        ("/api/v1/webhooks/1", 503, "integration is unavailable"),
        ("/api/v1/reports/slow", 504, "reporting did not answer in time"),
        ("/api/v1/reports/broken", 502, "reporting failed"),
    ],
)
async def test_failing_services(gateway: Harness, path: str, status: int, detail: str) -> None:
    response = await gateway.client.get(path, headers=auth(ADMIN))
    assert (response.status_code, response.json()) == (status, {"detail": detail})


async def test_unreachable_service_over_the_network_is_503(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    runtime = Runtime(
        mode=Mode.DISTRIBUTED, transport=MemoryTransport(), blob_root=tmp_path / "blobs", data_dir=tmp_path
    )
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}",
        admin_token=ADMIN,
        cases_url=f"http://127.0.0.1:{port}",
    )
    app = create_app(settings, runtime)
    async with runtime, running(app) as client:
        response = await client.get("/api/v1/cases", headers=auth(ADMIN))
        assert (response.status_code, response.json()) == (503, {"detail": "cases is unavailable"})
        response = await client.get("/api/v1/reports", headers=auth(ADMIN))  # no ALLSAK_REPORTING_URL
        assert (response.status_code, response.json()) == (503, {"detail": "reporting is unavailable"})


async def test_a_service_that_hangs_in_process_is_cut_off(tmp_path: Path) -> None:
    runtime = Runtime.embedded(data_dir=tmp_path)
    hanging = FastAPI()

    @hanging.get("/api/v1/reports/{name}")
    async def never(name: str) -> None:
        await asyncio.Event().wait()

    runtime.register_app("reporting", hanging)
    app = create_app(Settings(data_dir=tmp_path, admin_token=ADMIN, proxy_timeout_seconds=0.2), runtime)
    async with runtime, running(app) as client:
        response = await client.get("/api/v1/reports/weekly", headers=auth(ADMIN))
    assert (response.status_code, response.json()) == (504, {"detail": "reporting did not answer in time"})


async def test_readiness_reports_each_service(gateway: Harness) -> None:
    checks = await readiness(gateway.app.state.ctx)
    assert checks["downstream.cases"] == "ok"
    assert checks["downstream.notify"] == "notify is unavailable"
    assert checks["downstream.intake"] == "status 404"  # the fake intake has no /healthz


# --- OpenAPI ---------------------------------------------------------------------------------


async def test_openapi_merges_the_services_and_requires_bearer(gateway: Harness) -> None:
    response = await gateway.client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert {
        "/api/v1/tokens",
        "/api/v1/tokens/{token_id}",
        "/api/v1/me",
        "/api/v1/cases",
        "/api/v1/cases/{number}",
        "/api/v1/intake/mail",
        "/api/v1/reports/slow",
    } <= set(doc["paths"])
    assert all(path.startswith("/api/v1/") for path in doc["paths"])
    assert "/api/v1/openapi.json" not in doc["paths"] and "/api/v1/{path}" not in doc["paths"]
    assert doc["info"]["x-unavailable"] == ["notify", "integration"]
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    operations = [o for item in doc["paths"].values() for o in item.values() if isinstance(o, dict)]
    assert operations and all(o["security"] == [{"bearerAuth": []}] for o in operations)
    assert "TokenCreate" in doc["components"]["schemas"]
    # Served from the cache the second time: the same document.
    assert (await gateway.client.get("/api/v1/openapi.json")).json() == doc
    # The gateway's own FastAPI document is not served (no /openapi.json, /docs).
    assert (await gateway.client.get("/openapi.json")).status_code == 404
    assert (await gateway.client.get("/docs")).status_code == 404


# --- pages -----------------------------------------------------------------------------------


async def test_pages_need_a_login(gateway: Harness) -> None:
    for path, target in (
        ("/cases", "/login?next=%2Fcases"),
        ("/cases/10023?a=1", "/login?next=%2Fcases%2F10023%3Fa%3D1"),
    ):
        response = await gateway.client.get(path)
        assert response.status_code == 303 and response.headers["location"] == target
    home = await gateway.client.get("/")
    assert home.status_code == 303 and home.headers["location"] == "/cases"
    bad_cookie = await gateway.client.get("/cases", headers=session("forged"))
    assert bad_cookie.status_code == 303


async def test_login_form_and_wrong_token(gateway: Harness) -> None:
    form = await gateway.client.get("/login?next=/cases/10023")
    assert form.status_code == 200 and "Logg inn" in form.text
    assert 'name="next" value="/cases/10023"' in form.text
    english = await gateway.client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Log in" in english.text and '<html lang="en">' in english.text
    wrong = await gateway.client.post("/login", data={"token": "wrong"})
    assert wrong.status_code == 401 and "Ukjent eller tilbakekalt" in wrong.text
    assert "set-cookie" not in wrong.headers


async def test_login_sets_a_safe_cookie_and_goes_where_asked(gateway: Harness) -> None:
    token = await gateway.token()
    response = await gateway.client.post("/login", data={"token": token, "next": "/cases/10023"})
    assert response.status_code == 303 and response.headers["location"] == "/cases/10023"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("allsak_session=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie
    evil = await gateway.client.post("/login", data={"token": token, "next": "//evil.example/"})
    assert evil.headers["location"] == "/cases"
    transport = httpx.ASGITransport(app=gateway.app)
    async with httpx.AsyncClient(transport=transport, base_url="https://test") as https:
        secure = await https.post("/login", data={"token": token})
    assert "Secure" in secure.headers["set-cookie"]


async def test_case_list_escapes_and_forwards_filters_as_the_agent(gateway: Harness) -> None:
    cookie = await gateway.login(await gateway.token(subject="kari@example.no"))
    response = await gateway.client.get("/cases?status=open&q=skriver&queue=", headers=session(cookie))
    assert response.status_code == 200
    html = response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and XSS not in html
    assert "Ola &lt;b&gt;Nordmann&lt;/b&gt;" in html
    assert 'href="/cases/10023"' in html and "2026-03-02 09:15" in html
    assert "Saker" in html and "åpen" in html
    assert 'href="/cases?status=open&amp;q=skriver&amp;cursor=10023"' in html
    seen = gateway.fakes.requests[-1]
    assert seen["query"] == "status=open&q=skriver"
    assert seen["headers"]["x-allsak-user"] == "kari@example.no"
    assert seen["headers"]["x-allsak-internal-token"] == INTERNAL
    page2 = await gateway.client.get(
        "/cases?cursor=10023", headers=session(cookie, **{"Accept-Language": "en"})
    )
    assert "Eldre sak" in page2.text and "Next page" not in page2.text and "Cases" in page2.text


async def test_case_page_shows_articles_escaped(gateway: Harness) -> None:
    cookie = await gateway.login(await gateway.token())
    response = await gateway.client.get("/cases/10023", headers=session(cookie))
    assert response.status_code == 200
    html = response.text
    assert '<pre class="body">Hei\n&lt;img src=x onerror=alert(2)&gt;\nMvh Ola</pre>' in html
    assert "<img" not in html and XSS not in html
    assert "innkommende e-post" in html and "Ola &lt;ola@example.no&gt;" in html
    # The status by its category with the type's own status; the fields in the form's order and
    # labels, options by label, a value the form does not name last; the due time.
    assert "<dd>venter på tredjepart (awaiting_parts)</dd>" in html
    fields = [
        "<dt>Serienummer</dt><dd>SN-1 &lt;b&gt;</dd>",
        "<dt>Enhet</dt><dd>Skriver</dd>",
        "<dt>legacy</dt><dd>✓</dd>",
    ]
    assert all(f in html for f in fields) and html.index(fields[0]) < html.index(fields[1]) < html.index(
        fields[2]
    )
    assert "<dt>Rom</dt>" not in html and "<dt>Løst innen</dt><dd>2026-03-04 15:00</dd>" in html
    assert "Første svar innen" not in html
    missing = await gateway.client.get("/cases/99999", headers=session(cookie))
    assert missing.status_code == 404 and "Fant ikke saken" in missing.text
    odd = await gateway.client.get("/cases/..%2F..", headers=session(cookie))
    assert odd.status_code == 404


async def test_logout_and_revocation_end_the_session(gateway: Harness) -> None:
    token = await gateway.token()
    cookie = await gateway.login(token)
    assert (await gateway.client.get("/cases", headers=session(cookie))).status_code == 200
    out = await gateway.client.post("/logout", headers=session(cookie))
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert 'allsak_session=""' in out.headers["set-cookie"]
    assert (await gateway.client.get("/cases", headers=session(cookie))).status_code == 303

    cookie = await gateway.login(token)
    me = (await gateway.client.get("/api/v1/me", headers=auth(token))).json()
    await gateway.client.delete(f"/api/v1/tokens/{me['token_id']}", headers=auth(ADMIN))
    assert (await gateway.client.get("/cases", headers=session(cookie))).status_code == 303


async def test_pages_show_an_unavailable_cases_service(tmp_path: Path) -> None:
    runtime = Runtime.embedded(data_dir=tmp_path)
    app = create_app(Settings(data_dir=tmp_path, admin_token=ADMIN), runtime)
    async with runtime, running(app) as client:
        cookie = await Harness(client, Fakes(), app).login(ADMIN)
        response = await client.get("/cases", headers=session(cookie))
    assert response.status_code == 503 and "svarer ikke" in response.text


# --- the admin token at start, on SQLite and PostgreSQL ---------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(
    request: pytest.FixtureRequest, tmp_path: Path, pg_url_factory: Callable[[str], str]
) -> AsyncIterator[Database]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'g.db'}" if request.param == "sqlite" else pg_url_factory("gw")
    db = Database(url, Base.metadata)
    await upgrade(db, MIGRATIONS, service="gateway")
    yield db
    await db.dispose()


async def admin_tokens(db: Database) -> list[tuple[str, bool]]:
    return [(t.token_hash, t.revoked_at is None) for t in await service.list_tokens(db)]


async def test_admin_token_at_start_is_idempotent_and_rotates(database: Database) -> None:
    await service.ensure_admin_token(database, secret=ADMIN)
    await service.ensure_admin_token(database, secret=ADMIN)
    [(first_hash, active)] = await admin_tokens(database)
    assert active
    await service.ensure_admin_token(database, secret=ADMIN + "-rotated")
    tokens = dict(await admin_tokens(database))
    assert len(tokens) == 2 and tokens[first_hash] is False
    assert await service.authenticate(database, secret=ADMIN) is None
    principal = await service.authenticate(database, secret=ADMIN + "-rotated")
    assert principal is not None and principal.role is Role.ADMIN and principal.subject == "admin"


async def test_two_gateways_creating_the_admin_token_at_once(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await service.ensure_admin_token(database, secret=ADMIN)

    # The second replica read before the first one committed: it does not see the row.
    async def not_yet(session: Any, token_hash: str) -> None:
        return None

    monkeypatch.setattr(repository, "token_by_hash", not_yet)
    await service.ensure_admin_token(database, secret=ADMIN)
    monkeypatch.undo()
    assert len(await admin_tokens(database)) == 1
    assert await service.authenticate(database, secret=ADMIN) is not None


async def test_gateway_restarts_on_the_same_data(tmp_path: Path) -> None:
    for _ in range(2):
        runtime = Runtime.embedded(data_dir=tmp_path)
        app = create_app(Settings(data_dir=tmp_path, admin_token=ADMIN), runtime)
        async with runtime, running(app) as client:
            assert (await client.get("/api/v1/me", headers=auth(ADMIN))).status_code == 200
            tokens = (await client.get("/api/v1/tokens", headers=auth(ADMIN))).json()["items"]
            assert [t["name"] for t in tokens] == [ADMIN_TOKEN_NAME]
