"""The public OpenAPI document: the gateway's own routes merged with each service's.

Only paths the gateway actually routes are kept (under ``/api/v1/``, owned by the service
that documents them); every operation gets the bearer scheme; headers the gateway sets
itself (identity, internal token) are removed from the parameters. A service that does not
answer is left out and named in ``info.x-unavailable``.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from services.gateway.proxy import API_PREFIX, SERVICES, DownstreamError, Downstreams, owner
from shared.http import INTERNAL_TOKEN_HEADER, ROLE_HEADER, USER_HEADER

logger = logging.getLogger(__name__)

Document = dict[str, Any]

SECURITY_SCHEME = "bearerAuth"
OPERATIONS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
GATEWAY_HEADERS = frozenset(h.lower() for h in (USER_HEADER, ROLE_HEADER, INTERNAL_TOKEN_HEADER))
REF_PREFIX = "#/components/schemas/"
UNAUTHORIZED = {"description": "Missing, unknown or revoked bearer token"}


def merge(own: Document, services: Mapping[str, Document | None], *, title: str, version: str) -> Document:
    """One document from the gateway's and the services' (None for a service that did not answer)."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    operation_ids: set[str] = set()
    _add(paths, schemas, operation_ids, "gateway", own, owned_by=None)
    unavailable = []
    for name, doc in services.items():
        if doc is None:
            unavailable.append(name)
            continue
        _add(paths, schemas, operation_ids, name, doc, owned_by=name)
    return {
        "openapi": own.get("openapi", "3.1.0"),
        "info": {"title": title, "version": version, "x-unavailable": unavailable},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {SECURITY_SCHEME: {"type": "http", "scheme": "bearer"}},
        },
        "security": [{SECURITY_SCHEME: []}],
    }


def _add(
    paths: dict[str, Any],
    schemas: dict[str, Any],
    operation_ids: set[str],
    service: str,
    doc: Document,
    *,
    owned_by: str | None,
) -> None:
    """Adds the paths the gateway routes to ``owned_by`` and their schemas; ``owned_by`` None: the
    gateway's own paths, also those under a service's segment that the gateway answers itself."""
    incoming = doc.get("components", {}).get("schemas", {})
    renames = _renames(schemas, incoming, service)
    for name, schema in incoming.items():
        schemas[renames.get(name, name)] = _rewrite_refs(schema, renames)
    for path, item in doc.get("paths", {}).items():
        if owned_by is not None and path in paths:
            # The gateway serves this path itself (POST /api/v1/users/{id}/tokens): its route wins.
            logger.warning("%s documents %s, which the gateway serves itself", service, path)
            continue
        if not path.startswith(API_PREFIX) or (owned_by is not None and owner(path) != owned_by):
            if path.startswith(API_PREFIX):
                logger.warning("%s documents %s, which the gateway does not route", service, path)
            continue
        paths[path] = _public_item(_rewrite_refs(item, renames), service, operation_ids)


def _renames(merged: Mapping[str, Any], incoming: Mapping[str, Any], service: str) -> dict[str, str]:
    """Schema names that clash with a different schema of the same name get the service as prefix."""
    renames: dict[str, str] = {}
    while True:
        clashes = {
            name
            for name, schema in incoming.items()
            if name not in renames and name in merged and merged[name] != _rewrite_refs(schema, renames)
        }
        if not clashes:
            return renames
        renames.update({name: f"{service}_{name}" for name in clashes})


def _rewrite_refs(node: Any, renames: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(REF_PREFIX):
                name = value.removeprefix(REF_PREFIX)
                out[key] = REF_PREFIX + renames.get(name, name)
            else:
                out[key] = _rewrite_refs(value, renames)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(value, renames) for value in node]
    return node


def _public_item(item: dict[str, Any], service: str, operation_ids: set[str]) -> dict[str, Any]:
    item = copy.deepcopy(item)
    if "parameters" in item:
        item["parameters"] = _public_parameters(item["parameters"])
    for method, operation in item.items():
        if method not in OPERATIONS or not isinstance(operation, dict):
            continue
        operation["security"] = [{SECURITY_SCHEME: []}]
        operation.setdefault("responses", {}).setdefault("401", UNAUTHORIZED)
        operation.setdefault("tags", [service])
        if "parameters" in operation:
            operation["parameters"] = _public_parameters(operation["parameters"])
        op_id = operation.get("operationId")
        if op_id in operation_ids:
            operation["operationId"] = op_id = f"{service}_{op_id}"
        if op_id:
            operation_ids.add(op_id)
    return item


def _public_parameters(parameters: list[Any]) -> list[Any]:
    return [
        p
        for p in parameters
        if not (
            isinstance(p, dict)
            and p.get("in") == "header"
            and str(p.get("name", "")).lower() in GATEWAY_HEADERS
        )
    ]


async def fetch_documents(services: Downstreams, *, timeout: float = 5.0) -> dict[str, Document | None]:
    """Each service's /openapi.json, or None where it did not answer with one."""

    async def fetch(name: str) -> Document | None:
        try:
            response = await services.send(name, "GET", "/openapi.json", timeout=timeout)
            doc = response.json() if response.status_code == 200 else None
        except (DownstreamError, ValueError) as exc:
            logger.warning("no OpenAPI document from %s: %s", name, exc)
            return None
        return doc if isinstance(doc, dict) else None

    docs = await asyncio.gather(*(fetch(name) for name in SERVICES))
    return dict(zip(SERVICES, docs, strict=True))


class OpenApiCache:
    """Keeps the merged document for ``ttl`` seconds, a few seconds only while a service is missing."""

    def __init__(self, ttl: float, *, retry: float = 5.0, clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self.retry = min(retry, ttl)
        self.clock = clock
        self._doc: Document | None = None
        self._expires = -math.inf
        self._lock = asyncio.Lock()

    async def get(self, build: Callable[[], Awaitable[Document]]) -> Document:
        if self._doc is not None and self.clock() < self._expires:
            return self._doc
        async with self._lock:
            if self._doc is None or self.clock() >= self._expires:
                doc = await build()
                keep = self.retry if doc["info"]["x-unavailable"] else self.ttl
                self._doc, self._expires = doc, self.clock() + keep
            return self._doc
