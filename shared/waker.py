"""Background loops that wake when their service commits, and poll otherwise."""

from __future__ import annotations

import asyncio
import contextlib

from shared.db import Database


class CommitWaker:
    def __init__(self, db: Database) -> None:
        self._event = asyncio.Event()
        db.on_commit(self._event.set)

    def wake(self) -> None:
        self._event.set()

    def clear(self) -> None:
        """Call before a round of work, so that a commit during it wakes the next round."""
        self._event.clear()

    async def wait(self, timeout: float) -> None:
        """Until the next commit (or ``wake``), at most ``timeout`` seconds."""
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation that
        # arrives just as the event fires, and the loop would then never stop.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._event.wait()
