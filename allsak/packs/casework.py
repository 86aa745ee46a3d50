"""The sections of a pack that configure casework, loaded after the directory and knowledge:
case types (fields with their mandatory stage, statuses, transitions, priority matrix, forms),
business-hours calendars, SLA policies, templates, routing rules and the groups' assignment
method; then the demo cases, which all of these judge as they are imported."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from allsak import packs
from allsak.packs.api import SeedError
from allsak.packs.generator import demo_cases

if TYPE_CHECKING:
    from allsak.packs.loader import Loader


async def load(loader: Loader, pack: packs.Pack) -> None:
    for entry in pack.get("case_types", []):
        await loader.ensure("case types", "/api/v1/case-types", "key", entry["key"], entry, paged=False)
    for entry in pack.get("calendars", []):
        await loader.ensure("calendars", "/api/v1/calendars", "key", entry["key"], entry, paged=False)
    for entry in pack.get("sla_policies", []):
        # Policies have no key of their own: a pack names each by its English label.
        await loader.ensure(
            "SLA policies", "/api/v1/sla-policies", _english, entry["labels"]["en"], entry, paged=False
        )
    for entry in pack.get("templates", []):
        await loader.ensure("templates", "/api/v1/templates", "key", entry["key"], entry, paged=False)
    for entry in pack.get("routing_rules", []):
        body = {**entry, "conditions": _conditions(loader, entry.get("conditions", {}))}
        await loader.ensure(
            "routing rules", "/api/v1/routing-rules", "name", entry["name"], body, paged=False
        )
    for entry in pack.get("groups", []):
        if "assignment" in entry:
            await _assignment(loader, loader.ids["groups"][entry["key"]], entry["assignment"])
    if loader.cases:
        await _demo(loader, pack)


def _english(item: Any) -> str:
    return str(item["labels"]["en"])


def _conditions(loader: Loader, conditions: dict[str, Any]) -> dict[str, Any]:
    """Mailboxes and organisations are named in a pack; a rule takes their ids."""
    resolved = dict(conditions)
    for name, section in (("mailbox", "mailboxes"), ("organisation", "organisations")):
        if name in resolved:
            try:
                resolved[name] = [loader.ids[section][key] for key in resolved[name]]
            except KeyError as exc:
                raise SeedError(f"routing rule names {name} {exc} that no pack loaded defines") from None
    return resolved


async def _assignment(loader: Loader, group_id: str, method: str) -> None:
    """A group's assignment method, set when it differs (from the default: manual)."""
    path = f"/api/v1/groups/{group_id}/assignment"
    if (await loader.api.get(path))["method"] == method:
        loader.tally["assignment"].present += 1
        return
    await loader.api.put(path, {"method": method})
    loader.tally["assignment"].created += 1


async def _demo(loader: Loader, pack: packs.Pack) -> None:
    domains = tuple(pack.get("demo", {}).get("requester_domains", ()))
    requesters = [p for p in loader.customers_seen.values() if domains and p.email.endswith(domains)]
    for case in demo_cases(pack, requesters=requesters, agents=loader.agents, now=loader.now):
        status, _ = await loader.api.post("/api/v1/cases/import", case)
        if status == 201:
            loader.tally["demo cases"].created += 1
        else:
            loader.tally["demo cases"].present += 1
