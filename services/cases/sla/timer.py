"""PLACEHOLDER being replaced by the SLA work: the timer that emits warnings and breaches."""

from __future__ import annotations

from collections.abc import Sequence

from shared.app import ServiceContext, Worker


def workers(ctx: ServiceContext) -> Sequence[Worker]:
    return ()
