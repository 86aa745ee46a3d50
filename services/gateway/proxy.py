"""Forwarding ``/api/v1/...`` to the service that owns it, with the caller's identity attached.

The owner is found by the first path segment after ``/api/v1/``; the service serves the same
path. Only an allow-list of headers crosses in either direction: the caller's credentials
and any identity headers it sent stay here, and the gateway adds the identity it verified.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote

import httpx
from fastapi import Request, Response
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers

from services.gateway.auth import Principal, Role
from services.gateway.settings import Settings
from shared.app import ServiceContext
from shared.http import ROLE_HEADER, USER_HEADER
from shared.runtime import Runtime

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1/"
SERVICES = ("intake", "cases", "notify", "reporting", "integration")

# First path segment under /api/v1/ -> owning service. Extend here when a service grows an API.
ROUTES: Mapping[str, str] = {
    "intake": "intake",
    "mailboxes": "intake",
    **dict.fromkeys(
        (
            "cases",
            "customers",
            "organisations",
            "users",
            "groups",
            "queues",
            "case-types",
            "templates",
            "search",
            "kb",
            "info-board",
            "standard-solutions",
            "attachments",
            "knowledge",
            "articles",
            "sla-policies",
            "calendars",
            "routing-rules",
            "forms",
            "assets",
            "agreements",
            "products",
        ),
        "cases",
    ),
    "outgoing-mail": "notify",
    "reports": "reporting",
    "webhooks": "integration",
}
GATEWAY_SEGMENTS = frozenset({"tokens", "me", "openapi.json"})

# Services that do not decide case access themselves hold what only some may see: mailboxes
# (with their secrets), quarantined and sent mail of every queue, webhooks that would receive
# every case's events, and counts of every queue. The gateway lets only these roles in.
STAFF_ROLES: Mapping[str, frozenset[Role]] = {
    "mailboxes": frozenset({Role.ADMIN}),
    "intake": frozenset({Role.ADMIN}),
    "outgoing-mail": frozenset({Role.ADMIN}),
    "webhooks": frozenset({Role.ADMIN}),
    "reports": frozenset({Role.ADMIN, Role.TEAM_LEAD}),
}
# Mail may be handed in by any token (a provider's webhook, a script): it is taken in, not shown.
OPEN_TO_ANY_TOKEN = frozenset({("POST", "/api/v1/intake/mail")})

FORWARDED_REQUEST_HEADERS = (
    "content-type",
    "accept",
    "accept-language",
    "if-match",
    "if-none-match",
    "idempotency-key",
)
RETURNED_RESPONSE_HEADERS = ("content-type", "location", "content-disposition", "retry-after", "etag")
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class DownstreamError(Exception):
    """A service could not be asked or did not answer; ``status`` is what the caller gets."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def first_segment(path: str) -> str:
    return path.removeprefix(API_PREFIX).split("/", 1)[0]


def owner(path: str) -> str | None:
    """The service that serves ``path`` (a path under /api/v1/), or None."""
    if not path.startswith(API_PREFIX):
        return None
    return ROUTES.get(first_segment(path))


def has_dot_segments(raw_path: str) -> bool:
    """``.``/``..`` segments, also percent-encoded: a client would resolve them and leave /api/v1."""
    return any(unquote(segment) in (".", "..") for segment in raw_path.split("/"))


def identity_headers(principal: Principal) -> dict[str, str]:
    return {USER_HEADER: principal.subject, ROLE_HEADER: principal.role.value}


def request_headers(incoming: Headers | Mapping[str, str], principal: Principal) -> dict[str, str]:
    """The caller's headers that a service needs, plus the identity the gateway verified.

    Authorization, cookies, the internal token and identity headers the caller sent are dropped.
    """
    headers = {name: incoming[name] for name in FORWARDED_REQUEST_HEADERS if name in incoming}
    headers.update(identity_headers(principal))
    return headers


def rewrite_location(location: str, base_url: httpx.URL) -> str:
    """A Location that points at the service itself becomes a path on the gateway."""
    target = httpx.URL(location)
    if target.is_absolute_url and (target.scheme, target.host, target.port) == (
        base_url.scheme,
        base_url.host,
        base_url.port,
    ):
        return target.raw_path.decode("ascii")
    return location


def response_headers(outgoing: httpx.Headers, base_url: httpx.URL) -> dict[str, str]:
    headers = {name: outgoing[name] for name in RETURNED_RESPONSE_HEADERS if name in outgoing}
    if "location" in headers:
        headers["location"] = rewrite_location(headers["location"], base_url)
    return headers


def target_url(scope: Mapping[str, Any]) -> str:
    """Path and query exactly as the caller encoded them."""
    raw: bytes = scope.get("raw_path") or b""
    try:
        path = raw.decode("ascii") if raw else quote(scope["path"])
    except UnicodeDecodeError:
        path = quote(scope["path"])
    query: bytes = scope.get("query_string") or b""
    return f"{path}?{query.decode('latin-1')}" if query else path


class Downstreams:
    """The HTTP clients of the services the gateway calls, created once the services exist."""

    def __init__(
        self, clients: Mapping[str, httpx.AsyncClient], missing: Mapping[str, str], *, timeout: float
    ) -> None:
        self.clients = dict(clients)
        self.missing = dict(missing)
        self.timeout = timeout

    @classmethod
    def connect(cls, runtime: Runtime, settings: Settings) -> Downstreams:
        clients: dict[str, httpx.AsyncClient] = {}
        missing: dict[str, str] = {}
        for name in SERVICES:
            try:
                clients[name] = runtime.http_client(
                    name, settings.url_for(name), internal_token=settings.internal_token
                )
            except (LookupError, ValueError) as exc:
                # The gateway still serves the other services; calls to this one answer 503.
                logger.error("gateway cannot reach %s: %s", name, exc, extra={"downstream": name})
                missing[name] = str(exc)
        return cls(clients, missing, timeout=settings.proxy_timeout_seconds)

    async def aclose(self) -> None:
        await asyncio.gather(*(client.aclose() for client in self.clients.values()))

    def client(self, service: str) -> httpx.AsyncClient:
        client = self.clients.get(service)
        if client is None:
            raise DownstreamError(503, f"{service} is unavailable")
        return client

    async def send(
        self, service: str, method: str, url: str, *, timeout: float | None = None, **kwargs: Any
    ) -> httpx.Response:
        """One call to a service; failures to reach it become DownstreamError (503, 504, 502)."""
        client = self.client(service)
        limit = timeout or self.timeout
        try:
            # A deadline of our own too: in-process (ASGI) calls ignore httpx's timeouts.
            async with asyncio.timeout(limit):
                return await client.request(method, url, timeout=limit, **kwargs)
        except (httpx.TimeoutException, TimeoutError) as exc:
            raise DownstreamError(504, f"{service} did not answer in time") from exc
        except httpx.TransportError as exc:
            logger.warning("%s unreachable: %r", service, exc, extra={"downstream": service})
            raise DownstreamError(503, f"{service} is unavailable") from exc
        except Exception as exc:
            # In-process (ASGI) calls re-raise the service's own crash here.
            logger.exception("%s failed", service, extra={"downstream": service})
            raise DownstreamError(502, f"{service} failed") from exc

    async def health(self, *, timeout: float = 3.0) -> dict[str, str]:
        """Whether each service answers /healthz, for the gateway's readiness report."""

        async def check(name: str) -> str:
            try:
                response = await self.send(name, "GET", "/healthz", timeout=timeout)
            except DownstreamError as exc:
                return exc.detail
            return "ok" if response.status_code == 200 else f"status {response.status_code}"

        results = await asyncio.gather(*(check(name) for name in SERVICES))
        return {f"downstream.{name}": result for name, result in zip(SERVICES, results, strict=True)}


def downstreams(ctx: ServiceContext) -> Downstreams:
    services: Downstreams = ctx.state["downstreams"]
    return services


def error(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def unrouted(path: str) -> JSONResponse:
    segment = first_segment(path)
    if segment in GATEWAY_SEGMENTS:
        return error(405, "method not allowed")
    return error(404, f"no API at /api/v1/{segment}; see /api/v1/openapi.json for what there is")


def allowed(method: str, path: str, role: Role) -> bool:
    """Whether a caller with ``role`` may send ``method path`` on (the cases service decides
    case access itself; see ``STAFF_ROLES`` for the others)."""
    if (method.upper(), path.rstrip("/")) in OPEN_TO_ANY_TOKEN:
        return True
    roles = STAFF_ROLES.get(first_segment(path))
    return roles is None or role in roles


async def forward(request: Request, *, principal: Principal, services: Downstreams) -> Response:
    """Send the request to its owning service as it came, and its answer back as it came."""
    service = owner(request.url.path)
    if service is None:
        return unrouted(request.url.path)
    if not allowed(request.method, request.url.path, principal.role):
        return error(403, f"{first_segment(request.url.path)}: not for the role {principal.role.value}")
    url = target_url(request.scope)
    if has_dot_segments(url.split("?", 1)[0]):
        return error(404, "not found")
    try:
        response = await services.send(
            service,
            request.method,
            url,
            content=await request.body(),
            headers=request_headers(request.headers, principal),
        )
    except DownstreamError as exc:
        return error(exc.status, exc.detail)
    base_url = services.client(service).base_url
    return Response(
        content=response.content,
        status_code=response.status_code,
        headers=response_headers(response.headers, base_url),
    )
