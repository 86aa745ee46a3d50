"""Every service in one process: the embedded mode behind ``allsak up``."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from allsak.services import NAMES, service
from shared.runtime import Runtime


@contextlib.asynccontextmanager
async def embedded(data_dir: Path, **overrides: Any) -> AsyncIterator[dict[str, Any]]:
    """Start all six services on one in-process bus; yield their apps by name (gateway serves)."""
    runtime = Runtime.embedded(data_dir=data_dir)
    apps: dict[str, Any] = {}
    async with runtime, contextlib.AsyncExitStack() as stack:
        for name in NAMES:
            module = service(name)
            settings = module.settings_class()(data_dir=data_dir, amqp_url=None, **overrides.get(name, {}))
            app = module.create_app(settings, runtime)
            apps[name] = app
            await stack.enter_async_context(app.router.lifespan_context(app))
        yield apps
