"""HTTP clients between services: the same client code over the network or in-process (ASGI)."""

from __future__ import annotations

import httpx

from shared import logging as log_context

INTERNAL_TOKEN_HEADER = "X-Allsak-Internal-Token"
CORRELATION_HEADER = "X-Correlation-ID"


def service_client(
    *,
    base_url: str,
    transport: httpx.AsyncBaseTransport | None = None,
    internal_token: str | None = None,
    timeout: float = 30.0,
) -> httpx.AsyncClient:
    async def propagate(request: httpx.Request) -> None:
        cid = log_context.correlation_id.get()
        if cid:
            request.headers[CORRELATION_HEADER] = cid

    headers = {INTERNAL_TOKEN_HEADER: internal_token} if internal_token else {}
    return httpx.AsyncClient(
        base_url=base_url,
        transport=transport,
        headers=headers,
        timeout=timeout,
        event_hooks={"request": [propagate]},
    )


# The gateway authenticates callers and forwards who they are; services trust these headers
# only together with the internal token.
USER_HEADER = "X-Allsak-User"
ROLE_HEADER = "X-Allsak-Role"
