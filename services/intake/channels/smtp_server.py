"""The SMTP and LMTP listeners of a running intake service, on its own event loop.

They run in the service's loop (not aiosmtpd's threaded Controller), so that they use the
service's database and blob store. ``start`` is called from the service's start and fails it
when an address cannot be bound; ``stop`` stops listening, lets messages being stored finish
(for a moment), then closes the connections that are left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from services.intake.channels.smtp import IntakeHandler, IntakeLMTP, IntakeSMTP
from services.intake.settings import Settings
from shared.app import ServiceContext

logger = logging.getLogger(__name__)

STATE_KEY = "mail_listeners"
DRAIN_SECONDS = 10.0


def parse_listen(value: str) -> tuple[str | None, int]:
    """``host:port``, ``[v6]:port`` or ``:port`` (every interface); port 0 picks a free one."""
    host, sep, port = value.strip().rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"not host:port: {value!r}")
    host = host.strip("[]")
    return host or None, int(port)


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """The STARTTLS context, when a certificate and its key are configured."""
    cert, key = settings.smtp_tls_cert, settings.smtp_tls_key
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise ValueError("set both smtp_tls_cert and smtp_tls_key to offer STARTTLS")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@dataclass
class Listener:
    channel: str
    server: asyncio.Server
    handler: IntakeHandler
    connections: weakref.WeakSet[IntakeSMTP] = field(default_factory=weakref.WeakSet)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.server.sockets[0].getsockname()[:2]
        return host, port


@dataclass
class MailListeners:
    listeners: dict[str, Listener] = field(default_factory=dict)

    def address(self, channel: str) -> tuple[str, int]:
        """Where ``channel`` (smtp or lmtp) listens; tests use it after binding port 0."""
        return self.listeners[channel].address

    async def open(
        self, channel: str, listen: str, handler: IntakeHandler, protocol: Callable[[], IntakeSMTP]
    ) -> None:
        host, port = parse_listen(listen)
        connections: weakref.WeakSet[IntakeSMTP] = weakref.WeakSet()

        def connected() -> IntakeSMTP:
            made = protocol()
            connections.add(made)
            return made

        server = await asyncio.get_running_loop().create_server(connected, host, port, reuse_address=True)
        listener = Listener(channel, server, handler, connections)
        self.listeners[channel] = listener
        logger.info("%s listening on %s:%d", channel.upper(), *listener.address)

    async def close(self, drain: float = DRAIN_SECONDS) -> None:
        listeners = list(self.listeners.values())
        self.listeners.clear()
        for listener in listeners:
            listener.server.close()
        for listener in listeners:
            # A message being stored gets to finish and be answered; a sender cut off before
            # its answer retries, and the same bytes are then a duplicate, not a second message.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(listener.handler.idle.wait(), drain)
            for connection in list(listener.connections):
                if connection.transport is not None:
                    connection.transport.close()
            await listener.server.wait_closed()
            logger.info("%s stopped", listener.channel.upper())


async def start(ctx: ServiceContext) -> None:
    """Open the SMTP and LMTP listeners that the settings ask for."""
    settings = cast(Settings, ctx.settings)
    listeners = MailListeners()
    ctx.state[STATE_KEY] = listeners
    if not (settings.smtp_listen or settings.lmtp_listen):
        return
    tls = tls_context(settings)
    hostname = socket.gethostname()
    for channel, listen, kind in (
        ("smtp", settings.smtp_listen, IntakeSMTP),
        ("lmtp", settings.lmtp_listen, IntakeLMTP),
    ):
        if not listen:
            continue
        handler = IntakeHandler(
            ctx.db,
            ctx.blobs,
            settings.limits,
            settings.parse_timeout_seconds,
            settings.loops,
            channel=channel,
            per_recipient=kind is IntakeLMTP,
        )

        def protocol(kind: type[IntakeSMTP] = kind, handler: IntakeHandler = handler) -> IntakeSMTP:
            return kind(
                handler,
                data_size_limit=settings.max_message_bytes,
                enable_SMTPUTF8=True,
                hostname=hostname,
                ident="Allsak intake",
                tls_context=tls,
                loop=asyncio.get_running_loop(),
            )

        await listeners.open(channel, listen, handler, protocol)


async def stop(ctx: ServiceContext) -> None:
    listeners: MailListeners | None = ctx.state.pop(STATE_KEY, None)
    if listeners is not None:
        await listeners.close()
