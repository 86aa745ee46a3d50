"""How a seed talks to Allsak: the public API, through the gateway or in-process."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

# In-process, a request goes to the service that owns its first path segment, as the gateway
# routes it (services.gateway.proxy.ROUTES); a pack touches these two services only.
INTAKE_SEGMENTS = frozenset({"mailboxes", "intake"})


def pick(entry: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    """The entry's values the API takes; the rest of a pack entry is for the loader."""
    return {key: entry[key] for key in keys if key in entry}


class SeedError(Exception):
    """A service refused part of a pack: what, and the service's answer."""


class Api:
    """Where a seed's requests go: the gateway of a running system, or the apps in this process
    (each service's own, with the bootstrap admin's identity, as the gateway would forward it)."""

    def __init__(self, clients: Mapping[str, httpx.AsyncClient]) -> None:
        self.clients = clients

    def client(self, path: str) -> httpx.AsyncClient:
        if "gateway" in self.clients:
            return self.clients["gateway"]
        segment = path.removeprefix("/api/v1/").split("/", 1)[0]
        return self.clients["intake" if segment in INTAKE_SEGMENTS else "cases"]

    async def get(self, path: str, **params: Any) -> Any:
        response = await self.client(path).get(path, params=params)
        if response.status_code != 200:
            raise SeedError(f"GET {path}: {response.status_code} {response.text[:500]}")
        return response.json()

    async def post(self, path: str, body: Any = None) -> tuple[int, Any]:
        """The status (200 and 201 for done, 409 for there already) and the answer."""
        response = await self.client(path).post(path, json=body)
        if response.status_code not in (200, 201, 409):
            raise SeedError(f"POST {path}: {response.status_code} {response.text[:1000]}")
        return response.status_code, response.json() if response.content else None

    async def put(self, path: str, body: Any) -> Any:
        response = await self.client(path).put(path, json=body)
        if response.status_code != 200:
            raise SeedError(f"PUT {path}: {response.status_code} {response.text[:1000]}")
        return response.json()

    async def all(self, path: str, limit: int = 200, **params: Any) -> list[dict[str, Any]]:
        """Every item of a list route, page by page."""
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = await self.get(path, limit=limit, **params, **({"cursor": cursor} if cursor else {}))
            items.extend(page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                return items
