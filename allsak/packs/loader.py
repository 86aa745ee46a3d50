"""Loading a pack, section by section, through the public API: each thing looked up by its key
before it is created, so that loading twice changes nothing."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from allsak import packs
from allsak.packs import casework
from allsak.packs.api import Api, SeedError, pick
from allsak.packs.generator import Person


@dataclass
class Tally:
    created: int = 0
    present: int = 0

    def __str__(self) -> str:
        return f"{self.created} created, {self.present} already there"


Report = dict[str, dict[str, Tally]]
"""Per pack, per section: what was created and what was there already."""

Key = str | Callable[[Mapping[str, Any]], str]
"""What identifies an item of a section: a field of it, or a function of it."""


def key_of(item: Mapping[str, Any], key: Key) -> str:
    return str(item[key]) if isinstance(key, str) else key(item)


class Loader:
    """Loads packs into one system; remembers ids across packs (a later pack names earlier groups)."""

    def __init__(self, api: Api, *, now: datetime, cases: bool = True) -> None:
        self.api = api
        self.now = now
        self.cases = cases
        self.ids: dict[str, dict[str, str]] = defaultdict(dict)
        self.customers_seen: dict[str, Person] = {}
        self.staff: dict[str, Person] = {}
        self.agents: dict[str, list[Person]] = defaultdict(list)
        self._existing: dict[str, dict[str, dict[str, Any]]] = {}
        self.tally: dict[str, Tally] = {}

    async def load(self, pack: packs.Pack) -> dict[str, Tally]:
        self.tally = defaultdict(Tally)
        await self.groups(pack.get("groups", []))
        await self.users(pack.get("users", []))
        await self.queues(pack.get("queues", []))
        await self.simple("mailboxes", "/api/v1/mailboxes", "name", pack.get("mailboxes", []), paged=False)
        await self.organisations(pack.get("organisations", []))
        await self.simple("products", "/api/v1/products", "code", pack.get("products", []))
        await self.customers(pack.get("customers", []))
        await self.grants(pack.get("organisations", []), pack.get("customers", []))
        await self.agreements(pack.get("agreements", []))
        await self.assets(pack.get("assets", []))
        await self.knowledge(pack)
        await casework.load(self, pack)
        return dict(self.tally)

    # ---- the generic step: find by key, or create ----

    async def existing(
        self, section: str, path: str, key: Key, *, paged: bool = True
    ) -> dict[str, dict[str, Any]]:
        """What the system holds of a section, by key (listed once per run, then kept up to date)."""
        if section not in self._existing:
            items = await self.api.all(path) if paged else (await self.api.get(path))["items"]
            self._existing[section] = {key_of(item, key): item for item in items}
        return self._existing[section]

    async def ensure(
        self, section: str, path: str, key: Key, value: str, body: dict[str, Any], *, paged: bool = True
    ) -> dict[str, Any]:
        """The item with this key: found, or created from ``body``."""
        found = await self.existing(section, path, key, paged=paged)
        if value in found:
            self.tally[section].present += 1
            return found[value]
        status, item = await self.api.post(path, body)
        if status == 409:
            # Created meanwhile by someone else (or under another key that must be unique too).
            self._existing.pop(section)
            found = await self.existing(section, path, key, paged=paged)
            if value not in found:
                raise SeedError(f"{section} {value!r}: {item.get('detail') if item else 'conflict'}")
            self.tally[section].present += 1
            return found[value]
        self.tally[section].created += 1
        found[value] = item
        return item

    async def simple(
        self, section: str, path: str, key: str, entries: list[dict[str, Any]], *, paged: bool = True
    ) -> None:
        for entry in entries:
            item = await self.ensure(section, path, key, entry[key], entry, paged=paged)
            self.ids[section][entry[key]] = item.get("id", entry[key])

    async def grant(self, section: str, path: str, body: dict[str, Any]) -> None:
        status, _ = await self.api.post(path, body)
        if status == 409:
            self.tally[section].present += 1
        else:
            self.tally[section].created += 1

    # ---- sections ----

    async def groups(self, entries: list[dict[str, Any]]) -> None:
        for entry in entries:
            body = pick(entry, "key", "name")
            group = await self.ensure("groups", "/api/v1/groups", "key", entry["key"], body, paged=False)
            self.ids["groups"][entry["key"]] = group["id"]

    async def users(self, entries: list[dict[str, Any]]) -> None:
        for entry in entries:
            body = pick(entry, "email", "name", "role", "available")
            user = await self.ensure("users", "/api/v1/users", "email", entry["email"], body)
            self.ids["users"][entry["email"]] = user["id"]
            self.staff[entry["email"]] = Person(entry["email"], entry["name"])
            for key in entry.get("groups", []):
                group = self._existing["groups"][key]
                if user["id"] in group.get("members", []):
                    self.tally["memberships"].present += 1
                    continue
                await self.grant(
                    "memberships", f"/api/v1/groups/{group['id']}/members", {"user_id": user["id"]}
                )
                group.setdefault("members", []).append(user["id"])

    async def queues(self, entries: list[dict[str, Any]]) -> None:
        groups = self._existing.get("groups") or await self.existing(
            "groups", "/api/v1/groups", "key", paged=False
        )
        for entry in entries:
            body = {k: v for k, v in entry.items() if k != "group"}
            body["group_id"] = groups[entry["group"]]["id"]
            await self.ensure("queues", "/api/v1/queues", "key", entry["key"], body, paged=False)
            members = set(groups[entry["group"]].get("members", []))
            by_id = {self.ids["users"][email]: email for email in self.ids["users"]}
            self.agents[entry["key"]] = [self.staff[by_id[m]] for m in sorted(members) if m in by_id]

    async def organisations(self, entries: list[dict[str, Any]]) -> None:
        for entry in entries:
            if set(entry) <= {"name", "products"}:
                # Only a name: an organisation another pack defines, named here for its products.
                found = await self.existing("organisations", "/api/v1/organisations", "name")
                if entry["name"] not in found:
                    raise SeedError(f"organisation {entry['name']!r} is defined by no pack loaded")
                self.ids["organisations"][entry["name"]] = found[entry["name"]]["id"]
                continue
            body = pick(entry, "name", "number", "domains", "phone", "address")
            item = await self.ensure("organisations", "/api/v1/organisations", "name", entry["name"], body)
            self.ids["organisations"][entry["name"]] = item["id"]

    async def customers(self, entries: list[dict[str, Any]]) -> None:
        for entry in entries:
            self.customers_seen[entry["email"]] = Person(
                entry["email"], entry["name"], entry.get("lang", "nb")
            )
            found = (await self.api.get("/api/v1/customers", email=entry["email"]))["items"]
            if found:
                self.tally["customers"].present += 1
                self.ids["customers"][entry["email"]] = found[0]["id"]
                continue
            body = pick(entry, "email", "name", "aliases", "phone", "address")
            if "organisation" in entry:
                body["organisation_id"] = self.ids["organisations"][entry["organisation"]]
            status, item = await self.api.post("/api/v1/customers", body)
            if status == 409:
                raise SeedError(f"customer {entry['email']}: {item.get('detail')}")
            self.tally["customers"].created += 1
            self.ids["customers"][entry["email"]] = item["id"]

    async def grants(self, organisations: list[dict[str, Any]], customers: list[dict[str, Any]]) -> None:
        for kind, entries, key in (
            ("organisations", organisations, "name"),
            ("customers", customers, "email"),
        ):
            for entry in entries:
                holder = self.ids[kind][entry[key]]
                for code in entry.get("products", []):
                    body = {"product_id": self.ids["products"][code]}
                    await self.grant("product grants", f"/api/v1/{kind}/{holder}/products", body)

    async def agreements(self, entries: list[dict[str, Any]]) -> None:
        for entry in entries:
            body = self._holders({k: v for k, v in entry.items()})
            await self.ensure("agreements", "/api/v1/agreements", "number", entry["number"], body)

    async def assets(self, entries: list[dict[str, Any]]) -> None:
        for entry in entries:
            body = self._holders({k: v for k, v in entry.items()})
            await self.ensure("assets", "/api/v1/assets", "identifier", entry["identifier"], body)

    def _holders(self, body: dict[str, Any]) -> dict[str, Any]:
        """References by name (organisation) and email (customer) become the ids the API takes."""
        if "organisation" in body:
            body["organisation_id"] = self.ids["organisations"][body.pop("organisation")]
        if "customer" in body:
            body["customer_id"] = self.ids["customers"][body.pop("customer")]
        return body

    async def knowledge(self, pack: packs.Pack) -> None:
        for entry in pack.get("kb_articles", []):
            body = {k: v for k, v in entry.items() if k != "publish"}
            item = await self.ensure("kb articles", "/api/v1/kb/articles", "title", entry["title"], body)
            if entry.get("publish", True) and item["status"] == "draft":
                _, published = await self.api.post(f"/api/v1/kb/articles/{item['id']}/publish")
                item.update(published or {})
        for entry in pack.get("info_board", []):
            body = {k: v for k, v in entry.items() if not k.endswith("_days")}
            body.update(self._window(entry))
            await self.ensure("info board", "/api/v1/info-board", "title", entry["title"], body)
        for entry in pack.get("standard_solutions", []):
            await self.ensure(
                "standard solutions", "/api/v1/standard-solutions", "title", entry["title"], entry
            )

    def _window(self, entry: dict[str, Any]) -> dict[str, str]:
        """Board entries are valid relative to the day the pack is loaded (``valid_from_days``…)."""
        window = {}
        for name in ("valid_from", "valid_to"):
            if f"{name}_days" in entry:
                window[name] = (self.now + timedelta(days=entry[f"{name}_days"])).isoformat()
        return window
