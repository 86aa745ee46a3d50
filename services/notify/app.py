"""The notify service's app: its tables, its subscription and its mail sender."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from services.notify import handlers
from services.notify.api import router
from services.notify.models import Base
from services.notify.senders import build_sender
from services.notify.service import MailConfig, MailWorker, RetryPolicy
from services.notify.settings import Settings
from shared.app import ServiceContext, ServiceSpec, Worker, create_service_app
from shared.bus.transport import Subscription
from shared.events.cases import CaseCreated
from shared.inbox import consumer
from shared.runtime import Runtime

MIGRATIONS = Path(__file__).parent / "migrations" / "versions"


def create_app(settings: Settings, runtime: Runtime) -> FastAPI:
    config = MailConfig(
        case_tag=settings.case_tag,
        message_id_domain=settings.message_id_domain,
        default_sender=settings.default_sender,
        queue_senders=dict(settings.queue_senders),
        extra_own_addresses=tuple(settings.own_addresses),
        auto_mail_cap=settings.auto_mail_cap,
        auto_mail_cap_window=timedelta(minutes=settings.auto_mail_cap_minutes),
    )

    def subscriptions(ctx: ServiceContext) -> Sequence[Subscription]:
        return [
            consumer(
                ctx.db,
                service="notify",
                name="on_case_created",
                events=[CaseCreated],
                handler=functools.partial(handlers.on_case_created, config=config),
            )
        ]

    def workers(ctx: ServiceContext) -> Sequence[Worker]:
        sender = build_sender(
            smtp_url=settings.smtp_url.get_secret_value() if settings.smtp_url else None,
            mail_dir=settings.data_dir / "mail" / "sent",
            timeout=settings.smtp_timeout_seconds,
        )
        worker = MailWorker(
            ctx.db,
            sender,
            retry=RetryPolicy(
                base_seconds=settings.retry_base_seconds,
                max_seconds=settings.retry_max_seconds,
                max_attempts=settings.max_attempts,
            ),
            poll_seconds=settings.mail_poll_seconds,
            lease_seconds=settings.send_lease_seconds,
        )
        ctx.state["mail_worker"] = worker
        return [worker.run]

    async def readiness(ctx: ServiceContext) -> dict[str, Any]:
        worker: MailWorker | None = ctx.state.get("mail_worker")
        return {"mail_sender": worker.sender.name if worker else "none"}

    spec = ServiceSpec(
        name="notify",
        metadata=Base.metadata,
        migrations=MIGRATIONS,
        routers=[router],
        subscriptions=subscriptions,
        workers=workers,
        readiness=readiness,
    )
    return create_service_app(spec, settings, runtime)
