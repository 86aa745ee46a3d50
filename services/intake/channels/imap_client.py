"""One IMAP connection of a poller, on aioimaplib: TLS, STARTTLS or plain; LOGIN or XOAUTH2; and
the few commands that taking mail needs (SELECT, UID SEARCH/FETCH/MOVE, IDLE).

aioimaplib 2.0.3 has no STARTTLS and leaves an XOAUTH2 error challenge unanswered, so both are
done here on its protocol object; the version is pinned in pyproject.toml.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable
from typing import Any, TypeVar

import aioimaplib

from services.intake.channels import imap_protocol as wire
from services.intake.mailboxes.schemas import ImapSettings

logger = logging.getLogger(__name__)

T = TypeVar("T")
LOOPBACK = ("127.0.0.1", "::1", "localhost")


class ImapError(Exception):
    """The server refused something, or the conversation broke; the session starts over."""


class CommandFailed(ImapError):
    """The server answered NO or BAD; the connection itself is fine."""


class ConnectionLost(ImapError):
    pass


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """Verify the server's certificate and name, against ``ca_file`` or the system's CAs."""
    return ssl.create_default_context(cafile=ca_file)


class _Authenticate(aioimaplib.Command):
    """AUTHENTICATE <mechanism> with the initial response inline (SASL-IR) or on the first challenge.

    A failing XOAUTH2 server sends an error challenge and waits for an empty answer before it
    says NO (RFC 7628 section 3.2.3); without that answer the command would hang.
    """

    def __init__(
        self, protocol: aioimaplib.IMAP4ClientProtocol, mechanism: str, initial: str, *, timeout: float
    ) -> None:
        inline = "SASL-IR" in protocol.capabilities
        args = (mechanism, initial) if inline else (mechanism,)
        super().__init__("AUTHENTICATE", protocol.new_tag(), *args, loop=protocol.loop, timeout=timeout)
        self._protocol = protocol
        self._answer = "" if inline else initial

    def append_to_resp(self, line: bytes, result: str = "Pending") -> None:
        super().append_to_resp(line, result)
        if result == "Pending" and bytes(line).startswith(b"+"):
            self._protocol.transport.write(self._answer.encode("ascii") + b"\r\n")
            self._answer = ""


class ImapConnection:
    """A logged-in connection. Every command fails fast with ``ConnectionLost`` once the socket closes."""

    def __init__(self, settings: ImapSettings, *, timeout: float, context: ssl.SSLContext | None) -> None:
        self.settings = settings
        self.timeout = timeout
        self._context = context
        self._lost = asyncio.Event()
        self._delimiter: str | None = None
        self._delimiter_known = False
        self._imap = aioimaplib.IMAP4(
            host=settings.host,
            port=settings.port,
            timeout=timeout,
            conn_lost_cb=self._connection_lost,
            ssl_context=context if settings.security == "tls" else None,
        )

    @classmethod
    async def open(
        cls, settings: ImapSettings, secret: str, *, timeout: float, ca_file: str | None = None
    ) -> ImapConnection:
        """Connect, secure the connection as configured, and log in."""
        if settings.security == "none" and settings.host not in LOOPBACK:
            logger.warning("IMAP to %s without TLS: the secret travels in clear text", settings.host)
        context = tls_context(ca_file) if settings.security != "none" else None
        connection = cls(settings, timeout=timeout, context=context)
        try:
            await connection._call(connection._imap.wait_hello_from_server())
            if settings.security == "starttls":
                await connection._starttls()
            await connection._authenticate(secret)
            await connection._call(connection._protocol.capability())
        except BaseException:
            connection.abort()
            raise
        return connection

    @property
    def _protocol(self) -> aioimaplib.IMAP4ClientProtocol:
        return self._imap.protocol

    @property
    def capabilities(self) -> set[str]:
        return set(self._protocol.capabilities)

    def _connection_lost(self, exc: Exception | None) -> None:
        self._lost.set()
        # Wakes an IDLE wait at once instead of at its timeout.
        self._protocol.idle_queue.put_nowait(aioimaplib.STOP_WAIT_SERVER_PUSH)

    async def _call(self, awaitable: Awaitable[T]) -> T:
        """Await an aioimaplib call, but give up as soon as the connection is lost."""
        if self._lost.is_set():
            raise ConnectionLost(f"connection to {self.settings.host} lost")
        task = asyncio.ensure_future(awaitable)
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            done, _ = await asyncio.wait({task, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
            if not task.done():
                task.cancel()
        if task not in done:
            raise ConnectionLost(f"connection to {self.settings.host} lost")
        try:
            return task.result()
        except (TimeoutError, aioimaplib.CommandTimeout):
            # Not the CommandTimeout's text: it is the command line, which may hold the secret.
            raise ImapError(f"{self.settings.host} did not answer within {self.timeout:g}s") from None
        except aioimaplib.AioImapException as exc:
            raise ImapError(f"{type(exc).__name__}: {exc}") from exc

    async def _command(self, what: str, awaitable: Awaitable[Any]) -> aioimaplib.Response:
        response: aioimaplib.Response = await self._call(awaitable)
        if response.result != "OK":
            text = b" ".join(bytes(line) for line in response.lines[-1:]).decode(errors="replace")
            raise CommandFailed(f"{what}: {response.result} {text}")
        return response

    async def _starttls(self) -> None:
        if "STARTTLS" not in self._protocol.capabilities:
            raise ImapError(f"{self.settings.host} does not offer STARTTLS")
        assert self._context is not None  # open() makes one for every security but "none"
        protocol = self._protocol
        command = aioimaplib.Command("STARTTLS", protocol.new_tag(), loop=protocol.loop, timeout=self.timeout)
        await self._command("STARTTLS", protocol.execute(command))
        loop = asyncio.get_running_loop()
        transport = await self._call(
            loop.start_tls(protocol.transport, protocol, self._context, server_hostname=self.settings.host)
        )
        protocol.transport = transport
        # What the server said before TLS is not to be trusted (RFC 3501 section 6.2.1).
        await self._call(protocol.capability())

    async def _authenticate(self, secret: str) -> None:
        try:
            await self._log_in(secret)
        except ImapError as exc:
            cause = exc.__cause__
            if isinstance(cause, aioimaplib.AioImapException):
                # aioimaplib's own errors may quote the pending command, secret and all.
                raise ImapError(f"login to {self.settings.host} failed ({type(cause).__name__})") from None
            raise

    async def _log_in(self, secret: str) -> None:
        user = self.settings.username
        if self.settings.auth == "xoauth2":
            initial = wire.xoauth2_response(user, secret)
            command = _Authenticate(self._protocol, "XOAUTH2", initial, timeout=self.timeout)
            await self._command("AUTHENTICATE XOAUTH2", self._protocol.execute(command, scrub=initial))
            self._protocol.state = aioimaplib.AUTH
            return
        # aioimaplib quotes the password but sends the user name as it is.
        await self._command("LOGIN", self._imap.login(wire.quoted(user), secret))

    async def _folder(self, name: str) -> str:
        if not self._delimiter_known:
            response = await self._command("LIST", self._imap.list('""', '""'))
            self._delimiter = wire.list_delimiter(response.lines)
            self._delimiter_known = True
        return wire.folder_argument(name, self._delimiter)

    async def select(self, folder: str) -> int:
        """Select ``folder`` read-write; its UIDVALIDITY."""
        response = await self._command(f"SELECT {folder}", self._imap.select(await self._folder(folder)))
        return wire.uidvalidity(response.lines)

    async def ensure_folder(self, folder: str) -> None:
        """Create ``folder`` unless it exists."""
        name = await self._folder(folder)
        listed = await self._command(f"LIST {folder}", self._imap.list('""', name))
        if len(listed.lines) > 1:
            return
        response = await self._call(self._imap.create(name))
        if response.result != "OK" and not wire.has_code(response.lines, b"ALREADYEXISTS"):
            raise CommandFailed(f"CREATE {folder}: {response.result} {response.lines[-1]!r}")
        logger.info("created IMAP folder %s on %s", folder, self.settings.host)

    async def uids_after(self, last_uid: int) -> list[int]:
        """UIDs above ``last_uid`` in the selected folder, ascending."""
        # "n:*" also matches the highest UID when it is below n, hence the filter.
        criteria = f"{last_uid + 1}:*"
        response = await self._command("UID SEARCH", self._imap.uid_search("UID", criteria, charset=None))
        return [uid for uid in wire.search_uids(response.lines) if uid > last_uid]

    async def sizes(self, uids: list[int]) -> dict[int, int]:
        response = await self._command(
            "UID FETCH", self._imap.uid("fetch", wire.uid_set(uids), "(RFC822.SIZE)")
        )
        return wire.fetch_sizes(response.lines)

    async def fetch(self, uid: int) -> bytes | None:
        """The message's bytes, leaving it unread; None when it is gone."""
        response = await self._command(f"UID FETCH {uid}", self._imap.uid("fetch", str(uid), "(BODY.PEEK[])"))
        return wire.fetch_body(response.lines, uid)

    async def move(self, uid: int, folder: str) -> None:
        """Move a message: UID MOVE where the server has MOVE, else COPY, flag deleted, expunge."""
        target = await self._folder(folder)
        caps = self._protocol.capabilities
        if "MOVE" in caps:
            await self._command(f"UID MOVE {uid}", self._imap.uid("move", str(uid), target))
            return
        await self._command(f"UID COPY {uid}", self._imap.uid("copy", str(uid), target))
        await self._command(
            f"UID STORE {uid}", self._imap.uid("store", str(uid), "+FLAGS.SILENT", r"(\Deleted)")
        )
        if "UIDPLUS" in caps:
            await self._command(f"UID EXPUNGE {uid}", self._imap.uid("expunge", str(uid)))
        else:
            # Without UIDPLUS only a plain EXPUNGE removes it, taking along whatever else is flagged deleted.
            await self._command("EXPUNGE", self._imap.expunge())

    async def idle(self, timeout: float) -> bool:
        """IDLE until the server announces new mail (True) or ``timeout`` passes (False)."""
        queue = self._protocol.idle_queue
        while not queue.empty():
            queue.get_nowait()
        # aioimaplib's own stop timer is only a backstop behind ours.
        idling = await self._call(self._imap.idle_start(timeout=timeout + self.timeout))
        try:
            news = await self._wait_push(queue, timeout)
        except BaseException:
            if self._imap.has_pending_idle() and not self._lost.is_set():
                self._imap.idle_done()
            idling.cancel()
            raise
        self._imap.idle_done()
        await self._command("IDLE", asyncio.wait_for(idling, self.timeout))
        return news

    async def _wait_push(self, queue: asyncio.Queue[Any], timeout: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (remaining := deadline - loop.time()) > 0:
            try:
                push = await asyncio.wait_for(queue.get(), remaining)
            except TimeoutError:
                return False
            if self._lost.is_set():
                raise ConnectionLost(f"connection to {self.settings.host} lost while idling")
            if push == aioimaplib.STOP_WAIT_SERVER_PUSH:
                return False
            if wire.announces_new_mail(push):
                return True
        return False

    async def close(self) -> None:
        """Log out politely; never raises."""
        if not self._lost.is_set():
            try:
                await asyncio.wait_for(self._call(self._imap.logout()), min(self.timeout, 5))
            except (ImapError, OSError, TimeoutError) as exc:
                logger.debug("IMAP logout from %s failed: %s", self.settings.host, exc)
        self.abort()

    def abort(self) -> None:
        """Drop the connection without a word."""
        if not self._imap._client_task.done():
            self._imap._client_task.cancel()
        transport = self._protocol.transport
        if transport is not None:
            transport.close()
