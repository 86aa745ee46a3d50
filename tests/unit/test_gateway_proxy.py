"""The gateway's route map and header filtering."""

from __future__ import annotations

import httpx
import pytest
from starlette.datastructures import Headers

from services.gateway.auth import Principal, Role
from services.gateway.proxy import (
    ROUTES,
    SERVICES,
    allowed,
    has_dot_segments,
    owner,
    request_headers,
    response_headers,
    rewrite_location,
    target_url,
    unrouted,
)

AGENT = Principal(subject="kari@example.no", role=Role.AGENT, token_id="t1")


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/api/v1/intake/mail", "intake"),
        ("/api/v1/mailboxes", "intake"),
        ("/api/v1/cases", "cases"),
        ("/api/v1/cases/10023/articles", "cases"),
        ("/api/v1/case-types/incident", "cases"),
        ("/api/v1/sla-policies", "cases"),
        ("/api/v1/outgoing-mail/abc", "notify"),
        ("/api/v1/reports/weekly", "reporting"),
        ("/api/v1/webhooks", "integration"),
    ],
)
def test_first_segment_names_the_owner(path: str, service: str) -> None:
    assert owner(path) == service


@pytest.mark.parametrize(
    "path", ["/api/v1/tokens", "/api/v1/unknown/x", "/api/v1/", "/api/v1//cases", "/api/v2/cases", "/cases"]
)
def test_paths_without_owner(path: str) -> None:
    assert owner(path) is None


def test_every_route_goes_to_a_known_service() -> None:
    assert set(ROUTES.values()) == set(SERVICES)


def test_unknown_segment_is_404_with_a_hint_and_own_segment_405() -> None:
    response = unrouted("/api/v1/nonsense/1")
    assert response.status_code == 404
    assert b"/api/v1/nonsense" in response.body and b"openapi.json" in response.body
    assert unrouted("/api/v1/tokens").status_code == 405


@pytest.mark.parametrize(
    "raw",
    ["/api/v1/cases/../tokens", "/api/v1/cases/%2e%2e/x", "/api/v1/cases/%2E%2E", "/api/v1/cases/./1"],
)
def test_dot_segments_are_caught(raw: str) -> None:
    assert has_dot_segments(raw)


def test_ordinary_paths_have_no_dot_segments() -> None:
    assert not has_dot_segments("/api/v1/kb/a.b/..c/v1.2")


def test_request_headers_keep_content_and_drop_credentials_and_forged_identity() -> None:
    incoming = Headers(
        raw=[
            (b"content-type", b"message/rfc822"),
            (b"accept", b"application/json"),
            (b"authorization", b"Bearer secret"),
            (b"cookie", b"allsak_session=abc"),
            (b"x-allsak-user", b"mallory"),
            (b"x-allsak-role", b"admin"),
            (b"x-allsak-internal-token", b"guess"),
            (b"host", b"example.org"),
        ]
    )
    headers = {k.lower(): v for k, v in request_headers(incoming, AGENT).items()}
    assert headers == {
        "content-type": "message/rfc822",
        "accept": "application/json",
        "x-allsak-user": "kari@example.no",
        "x-allsak-role": "agent",
    }


def test_response_headers_are_an_allow_list() -> None:
    outgoing = httpx.Headers(
        {
            "content-type": "text/csv",
            "content-disposition": 'attachment; filename="r.csv"',
            "retry-after": "30",
            "location": "/api/v1/cases/10023",
            "set-cookie": "x=1",
            "server": "uvicorn",
            "content-length": "99",
        }
    )
    assert response_headers(outgoing, httpx.URL("http://cases/")) == {
        "content-type": "text/csv",
        "content-disposition": 'attachment; filename="r.csv"',
        "retry-after": "30",
        "location": "/api/v1/cases/10023",
    }


def test_location_on_the_service_becomes_a_gateway_path() -> None:
    base = httpx.URL("http://cases:8002/")
    assert rewrite_location("http://cases:8002/api/v1/cases/1?x=1", base) == "/api/v1/cases/1?x=1"
    assert rewrite_location("https://elsewhere.example/x", base) == "https://elsewhere.example/x"
    assert rewrite_location("/api/v1/cases/1", base) == "/api/v1/cases/1"


def test_target_url_keeps_the_callers_encoding() -> None:
    scope = {"path": "/api/v1/kb/a b", "raw_path": b"/api/v1/kb/a%20b", "query_string": b"q=x%2By&z=1"}
    assert target_url(scope) == "/api/v1/kb/a%20b?q=x%2By&z=1"
    assert target_url({"path": "/api/v1/cases", "query_string": b""}) == "/api/v1/cases"


@pytest.mark.parametrize(
    ("method", "path", "role", "expected"),
    [
        ("GET", "/api/v1/cases", Role.AGENT, True),  # the cases service decides case access itself
        ("POST", "/api/v1/mailboxes", Role.AGENT, False),
        ("GET", "/api/v1/mailboxes", Role.TEAM_LEAD, False),
        ("POST", "/api/v1/mailboxes", Role.ADMIN, True),
        ("GET", "/api/v1/intake/quarantine", Role.AGENT, False),
        ("GET", "/api/v1/intake/quarantine/q1/raw", Role.ADMIN, True),
        ("POST", "/api/v1/intake/mail", Role.AGENT, True),  # handing mail in shows nothing
        ("POST", "/api/v1/intake/mail/", Role.AGENT, True),
        ("GET", "/api/v1/intake/mail", Role.AGENT, False),
        ("GET", "/api/v1/outgoing-mail", Role.AGENT, False),
        ("POST", "/api/v1/webhooks", Role.TEAM_LEAD, False),
        ("GET", "/api/v1/reports/kpis", Role.AGENT, False),
        ("GET", "/api/v1/reports/kpis", Role.TEAM_LEAD, True),
    ],
)
def test_services_without_case_access_are_for_some_roles(
    method: str, path: str, role: Role, expected: bool
) -> None:
    assert allowed(method, path, role) is expected
