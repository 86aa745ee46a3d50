"""Merging the services' OpenAPI documents into the gateway's."""

from __future__ import annotations

import itertools
from typing import Any

from services.gateway.openapi import OpenApiCache, merge

ERROR = {"type": "object", "properties": {"detail": {"type": "string"}}}


def op(op_id: str, ref: str | None = None, **extra: Any) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": op_id, "responses": {"200": {"description": "OK"}}, **extra}
    if ref:
        content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}
        operation["responses"]["200"]["content"] = content
    return operation


OWN = {
    "openapi": "3.1.0",
    "paths": {"/api/v1/tokens": {"get": op("list_tokens", "TokenList")}},
    "components": {"schemas": {"TokenList": {"type": "object"}, "HTTPError": ERROR}},
}
CASES = {
    "paths": {
        "/api/v1/cases": {"get": op("list_cases", "Page")},
        "/api/v1/cases/{number}": {
            "parameters": [{"name": "X-Allsak-User", "in": "header"}],
            "patch": op(
                "update_case",
                "Case",
                parameters=[
                    {"name": "number", "in": "path", "required": True},
                    {"name": "x-allsak-role", "in": "header"},
                    {"name": "X-Allsak-Internal-Token", "in": "header"},
                ],
            ),
        },
        "/healthz": {"get": op("health")},
        "/api/v1/reports/sneaky": {"get": op("sneaky")},
        "/internal/reindex": {"post": op("reindex")},
    },
    "components": {
        "schemas": {
            "Case": {"type": "object"},
            "Page": {"type": "object", "properties": {"items": {"$ref": "#/components/schemas/Case"}}},
            "HTTPError": ERROR,
        }
    },
}
REPORTING = {
    "paths": {"/api/v1/reports": {"get": op("list_cases", "Page", tags=["reports"])}},
    "components": {"schemas": {"Page": {"type": "object", "properties": {"rows": {"type": "array"}}}}},
}


def merged() -> dict[str, Any]:
    services = {"intake": None, "cases": CASES, "reporting": REPORTING}
    return merge(OWN, services, title="Allsak API", version="1.0")


def test_only_routed_api_paths_are_kept() -> None:
    assert list(merged()["paths"]) == [
        "/api/v1/cases",
        "/api/v1/cases/{number}",
        "/api/v1/reports",
        "/api/v1/tokens",
    ]


def test_every_operation_requires_the_bearer_token() -> None:
    doc = merged()
    assert doc["components"]["securitySchemes"] == {"bearerAuth": {"type": "http", "scheme": "bearer"}}
    assert doc["security"] == [{"bearerAuth": []}]
    operations = [o for item in doc["paths"].values() for m, o in item.items() if m != "parameters"]
    assert len(operations) == 4
    assert all(o["security"] == [{"bearerAuth": []}] and "401" in o["responses"] for o in operations)


def test_headers_the_gateway_sets_are_not_offered_to_callers() -> None:
    item = merged()["paths"]["/api/v1/cases/{number}"]
    assert item["parameters"] == []
    assert item["patch"]["parameters"] == [{"name": "number", "in": "path", "required": True}]


def test_clashing_schemas_are_renamed_and_identical_ones_shared() -> None:
    doc = merged()
    schemas = doc["components"]["schemas"]
    assert set(schemas) == {"Case", "HTTPError", "Page", "TokenList", "reporting_Page"}
    ref = doc["paths"]["/api/v1/reports"]["get"]["responses"]["200"]["content"]["application/json"]
    assert ref["schema"]["$ref"] == "#/components/schemas/reporting_Page"
    assert schemas["Page"]["properties"]["items"]["$ref"] == "#/components/schemas/Case"


def test_clashing_operation_ids_are_prefixed_and_tags_default_to_the_service() -> None:
    doc = merged()
    assert doc["paths"]["/api/v1/reports"]["get"]["operationId"] == "reporting_list_cases"
    assert doc["paths"]["/api/v1/reports"]["get"]["tags"] == ["reports"]
    assert doc["paths"]["/api/v1/cases"]["get"]["tags"] == ["cases"]
    assert doc["paths"]["/api/v1/tokens"]["get"]["tags"] == ["gateway"]


def test_silent_services_are_named() -> None:
    assert merged()["info"] == {"title": "Allsak API", "version": "1.0", "x-unavailable": ["intake"]}


def test_inputs_are_not_changed() -> None:
    before = repr(CASES)
    merged()
    assert repr(CASES) == before


async def test_cache_keeps_the_document_and_retries_soon_while_a_service_is_missing() -> None:
    now = [0.0]
    builds = itertools.count(1)
    missing = [["intake"]]

    async def build() -> dict[str, Any]:
        return {"n": next(builds), "info": {"x-unavailable": missing[0]}}

    cache = OpenApiCache(60, retry=5, clock=lambda: now[0])
    assert (await cache.get(build))["n"] == 1
    now[0] = 4.9
    assert (await cache.get(build))["n"] == 1
    now[0] = 5.0
    missing[0] = []
    assert (await cache.get(build))["n"] == 2
    now[0] = 64.9
    assert (await cache.get(build))["n"] == 2
    now[0] = 65.0
    assert (await cache.get(build))["n"] == 3
