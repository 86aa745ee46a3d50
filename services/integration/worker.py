"""The delivery worker: claims due deliveries, POSTs them signed, records each attempt.

It wakes when this service commits (a new delivery was planned) and otherwise at the next due
retry or every ``webhook_poll_seconds``, whichever is sooner, so deliveries planned by other
replicas are found too.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable

import httpx

from services.integration import domain, service
from services.integration.repository import Claimed
from shared import metrics
from shared.db import Database
from shared.waker import CommitWaker

logger = logging.getLogger(__name__)

ERROR_BODY_CHARS = 500
# A due row that another replica holds locked is skipped; do not spin on it.
MIN_SLEEP_SECONDS = 0.02


class DeliveryWorker:
    def __init__(
        self,
        db: Database,
        client: httpx.AsyncClient,
        policy: domain.RetryPolicy,
        *,
        timeout_seconds: float,
        poll_seconds: float,
        batch_size: int,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.db = db
        self.client = client
        self.policy = policy
        self.timeout_seconds = timeout_seconds
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
        self.rand = rand
        self._waker = CommitWaker(db)

    async def run(self) -> None:
        while True:
            self._waker.clear()
            claimed = await self.deliver_due()
            if claimed < self.batch_size:
                await self._sleep()

    async def deliver_due(self) -> int:
        """One round: claim a batch and attempt each delivery concurrently; return how many."""
        # A lease well beyond the request timeout: an attempt that never reports is retried later.
        lease = self.timeout_seconds * 3 + 30
        batch = await service.claim_due(self.db, lease_seconds=lease, limit=self.batch_size)
        results = await asyncio.gather(*(self.attempt(claimed) for claimed in batch), return_exceptions=True)
        for claimed, result in zip(batch, results, strict=True):
            if isinstance(result, Exception):
                # The lease hands the delivery back later; nothing is lost.
                logger.error("webhook delivery %s: recording the attempt failed", claimed.id, exc_info=result)
        return len(batch)

    async def attempt(self, claimed: Claimed) -> None:
        headers = domain.signed_headers(
            claimed.secret, msg_id=claimed.id, body=claimed.body, now=self.db.clock()
        )
        result = await self._post(claimed.url, claimed.body, headers)
        outcome = await service.record_attempt(
            self.db, claimed=claimed, result=result, policy=self.policy, rand=self.rand()
        )
        if outcome is not None:
            metrics.WEBHOOK_DELIVERIES.labels(outcome.value).inc()
            log = logger.warning if outcome is domain.Outcome.FAILED else logger.info
            log(
                "webhook delivery %s attempt %d: %s (%s)",
                claimed.id,
                claimed.attempts,
                outcome.value,
                "ok" if result.ok else result.reason,
                extra={"webhook_id": claimed.webhook_id, "event_name": claimed.event_name},
            )

    async def _post(self, url: str, body: str, headers: dict[str, str]) -> domain.AttemptResult:
        try:
            async with self.client.stream(
                "POST", url, content=body.encode(), headers=headers, timeout=self.timeout_seconds
            ) as response:
                if 200 <= response.status_code < 300:
                    return domain.AttemptResult(response.status_code)
                # Read only the start of an error body; an endpoint may answer with anything.
                excerpt = b""
                async for chunk in response.aiter_bytes():
                    excerpt += chunk
                    if len(excerpt) >= ERROR_BODY_CHARS:
                        break
                text = excerpt[:ERROR_BODY_CHARS].decode(errors="replace").strip()
                reason = f"HTTP {response.status_code}" + (f": {text}" if text else "")
                return domain.AttemptResult(response.status_code, reason)
        except httpx.HTTPError as exc:
            return domain.AttemptResult(None, f"{type(exc).__name__}: {exc}"[:ERROR_BODY_CHARS])

    async def _sleep(self) -> None:
        timeout = self.poll_seconds
        due = await service.next_due(self.db)
        if due is not None:
            timeout = max(MIN_SLEEP_SECONDS, min(timeout, (due - self.db.clock()).total_seconds()))
        await self._waker.wait(timeout)
