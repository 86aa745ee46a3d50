"""``allsak seed``: department packs loaded through the services' public API, as an admin would.

Everything goes through the same routes and validation as an admin's requests, in dependency
order (groups, users, memberships, queues, mailboxes, organisations, products, customers,
agreements, assets, knowledge, then the demo cases). Loading is idempotent: each thing is
looked up by its key (a group's key, a user's email, a KB article's title…) before it is
created, and a 409 from a concurrent creator counts as present; demo cases are imported by
their external id. The report says what was created and what was already there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from allsak import packs
from allsak.embedded import embedded
from allsak.packs.api import Api, SeedError
from allsak.packs.loader import Loader, Report, Tally
from shared.clock import utcnow
from shared.http import ROLE_HEADER, USER_HEADER, service_client

logger = logging.getLogger(__name__)

# The subject of the gateway's bootstrap admin token, which the services treat as an admin.
ADMIN = {USER_HEADER: "admin", ROLE_HEADER: "admin"}


@contextlib.asynccontextmanager
async def remote(url: str, token: str) -> AsyncIterator[Api]:
    """A running Allsak, through its gateway, with an admin's API token."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url.rstrip("/"), headers=headers, timeout=60) as client:
        yield Api({"gateway": client})


@contextlib.asynccontextmanager
async def in_process(apps: Mapping[str, Any]) -> AsyncIterator[Api]:
    """The services of an embedded Allsak in this process, called as the gateway calls them."""
    async with contextlib.AsyncExitStack() as stack:
        clients = {}
        for name in ("intake", "cases"):
            app = apps[name]
            client = service_client(
                base_url=f"http://{name}",
                transport=httpx.ASGITransport(app=app),
                internal_token=app.state.ctx.settings.internal_token,
                timeout=60,
            )
            client.headers.update(ADMIN)
            clients[name] = await stack.enter_async_context(client)
        yield Api(clients)


async def seed(
    api: Api, keys: list[str], *, now: datetime, cases: bool = True, say: Callable[[str], None] = print
) -> Report:
    """Load the packs and the packs they require, each once; say what each one did."""
    loader = Loader(api, now=now, cases=cases)
    report: Report = {}
    for pack in packs.with_requirements(keys):
        report[pack["key"]] = await loader.load(pack)
        say(summary(pack["key"], report[pack["key"]]))
    return report


def summary(key: str, tally: Mapping[str, Tally]) -> str:
    if not tally:
        return f"{key}: nothing to load"
    if all(t.created == 0 for t in tally.values()):
        return f"{key}: everything already there ({', '.join(f'{n} {t.present}' for n, t in tally.items())})"
    return f"{key}: " + "; ".join(f"{name} {t}" for name, t in tally.items())


async def seed_remote(
    url: str, token: str, keys: list[str], *, cases: bool = True, say: Callable[[str], None] = print
) -> Report:
    """Seed a running Allsak through its gateway."""
    async with remote(url, token) as api:
        return await seed(api, keys, now=utcnow(), cases=cases, say=say)


async def seed_data_folder(
    data: Path, keys: list[str], *, cases: bool = True, say: Callable[[str], None] = print
) -> Report:
    """Seed the embedded Allsak of a data folder: its services start in this process for the
    while, and stop once every event the seed caused has been handled."""
    async with embedded(data) as apps:
        async with in_process(apps) as api:
            report = await seed(api, keys, now=utcnow(), cases=cases, say=say)
        await settle(apps)
    return report


async def settle(apps: Mapping[str, Any], *, timeout: float = 300) -> None:
    """Wait until no outbox holds an unsent event and the bus has delivered every message: the
    in-process bus forgets what it holds when the process ends."""
    drain = getattr(apps["gateway"].state.ctx.transport, "drain", None)

    async def published() -> bool:
        return not any([await app.state.ctx.relay.pending() for app in apps.values()])

    async with asyncio.timeout(timeout):
        while True:
            if await published():
                if drain is not None:
                    await drain(timeout=timeout)
                # A handler may have emitted events of its own meanwhile; then go round again.
                if await published():
                    return
            await asyncio.sleep(0.1)


__all__ = [
    "Api",
    "Report",
    "SeedError",
    "Tally",
    "in_process",
    "remote",
    "seed",
    "seed_data_folder",
    "seed_remote",
]
