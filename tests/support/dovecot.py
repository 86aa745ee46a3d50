"""A real IMAP server for tests: a private Dovecot on loopback (RECIPES.md, "Dovecot on loopback").

Each ``dovecot()`` gets its own folder with its config, a passwd-file with one user, maildirs
owned by the ``dovecot`` system user, and a free port; ``ssl = no`` unless asked for TLS, which
adds a throwaway self-signed certificate (for 127.0.0.1) and an implicit-TLS port beside the
plain one (which then offers STARTTLS). ``oauth2=True`` adds XOAUTH2 with an oauth2 passdb that
checks tokens against a tiny tokeninfo endpoint run here.

Without Dovecot installed the test is skipped, except under CI=true where it fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import json
import os
import pwd
import secrets
import shutil
import signal
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aioimaplib

from services.intake.channels import imap_protocol as wire
from shared.testing import wait_for
from tests.support.receiver import free_port
from tests.support.servers import need

USER = "agent@example.no"
PASSWORD = "testpass"


@dataclass
class Dovecot:
    root: Path
    port: int
    tls_port: int | None = None
    oauth_token: str | None = None
    user: str = USER
    password: str = PASSWORD

    @property
    def conf(self) -> Path:
        return self.root / "dovecot.conf"

    @property
    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    @property
    def ca_file(self) -> str:
        return str(self.root / "cert.pem")

    def imap_settings(self, **overrides: Any) -> dict[str, Any]:
        """``ImapSettings`` of a mailbox on this server (plain IMAP unless overridden)."""
        return {
            "host": "127.0.0.1",
            "port": self.port,
            "security": "none",
            "username": self.user,
            **overrides,
        }

    @contextlib.asynccontextmanager
    async def client(self) -> AsyncIterator[aioimaplib.IMAP4]:
        """A logged-in client of the test's own, on the plain port."""
        imap = aioimaplib.IMAP4(host="127.0.0.1", port=self.port, timeout=10)
        await imap.wait_hello_from_server()
        assert (await imap.login(self.user, self.password)).result == "OK"
        try:
            yield imap
        finally:
            await imap.logout()

    async def append(self, raw: bytes, folder: str = "INBOX") -> int:
        """Put a message in ``folder`` as a delivery would; its UID."""
        async with self.client() as imap:
            response = await imap.append(raw, mailbox=wire.quoted(folder))
        assert response.result == "OK", response
        return int(response.lines[-1].split(b"[APPENDUID ")[1].split()[1].rstrip(b"]"))

    async def messages(self, folder: str = "INBOX") -> list[bytes]:
        """The bytes of every message in ``folder`` (none if it does not exist)."""
        async with self.client() as imap:
            if (await imap.select(wire.quoted(folder))).result != "OK":
                return []
            uids = wire.search_uids((await imap.uid_search("ALL", charset=None)).lines)
            return [
                body
                for uid in uids
                if (body := wire.fetch_body((await imap.uid("fetch", str(uid), "(BODY.PEEK[])")).lines, uid))
            ]

    async def uidvalidity(self, folder: str = "INBOX") -> int:
        async with self.client() as imap:
            return wire.uidvalidity((await imap.select(wire.quoted(folder))).lines)

    async def command(self, name: str, *args: str) -> aioimaplib.Response:
        """A simple command (CREATE, DELETE, ...) from a client of the test's own."""
        async with self.client() as imap:
            return await imap.protocol.simple_command(name, *args)


class _TokenInfo(http.server.BaseHTTPRequestHandler):
    """The tokeninfo endpoint of the oauth2 passdb: a known token names the user, others are refused."""

    tokens: dict[str, str] = {}

    def do_GET(self) -> None:
        token = self.path.rsplit("=", 1)[-1]
        user = self.tokens.get(token)
        body = json.dumps({"email": user} if user else {"error": "invalid_token"}).encode()
        self.send_response(200 if user else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _config(root: Path, *, port: int, tls_port: int | None, tokeninfo: str | None) -> str:
    mechanisms = "plain login xoauth2" if tokeninfo else "plain login"
    oauth = (
        f"passdb {{\n  driver = oauth2\n  mechanisms = xoauth2\n  args = {root}/oauth2.conf\n}}\n"
        if tokeninfo
        else ""
    )
    ssl = f"ssl = yes\nssl_cert = <{root}/cert.pem\nssl_key = <{root}/key.pem\n" if tls_port else "ssl = no\n"
    imaps = (
        f"  inet_listener imaps {{\n    address = 127.0.0.1\n    port = {tls_port}\n    ssl = yes\n  }}\n"
        if tls_port
        else ""
    )
    return (
        "protocols = imap\n"
        "listen = 127.0.0.1\n"
        f"base_dir = {root}/run\n"
        f"state_dir = {root}/state\n"
        f"log_path = {root}/dovecot.log\n"
        f"{ssl}"
        "disable_plaintext_auth = no\n"
        f"auth_mechanisms = {mechanisms}\n"
        "auth_failure_delay = 0\n"
        f"mail_location = maildir:{root}/mail/%u\n"
        "first_valid_uid = 1\n"
        f"{oauth}"
        f"passdb {{\n  driver = passwd-file\n  args = {root}/users\n}}\n"
        f"userdb {{\n  driver = passwd-file\n  args = {root}/users\n}}\n"
        "service imap-login {\n"
        f"  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n"
        f"{imaps}"
        "}\n"
    )


async def _run(*argv: str, output: Path) -> None:
    # A file, not a pipe: the Dovecot master forks into the background and keeps its stdout,
    # so reading a pipe to its end would wait for Dovecot to stop.
    with output.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(*argv, stdout=sink, stderr=sink)
        await process.wait()
    text = output.read_text(errors="replace")
    assert process.returncode == 0, f"{' '.join(argv)} failed: {text}"


async def _listening(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    return True


def _alive(pid: int) -> bool:
    """Running, and not a zombie that nobody reaped (a container's init may not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@contextlib.contextmanager
def _tokeninfo(token: str) -> Iterator[str]:
    _TokenInfo.tokens = {token: USER}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _TokenInfo)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/tokeninfo?access_token="
    finally:
        server.shutdown()
        server.server_close()


@contextlib.asynccontextmanager
async def dovecot(*, tls: bool = False, oauth2: bool = False) -> AsyncIterator[Dovecot]:
    """A running private Dovecot; stopped and removed afterwards."""
    need(
        "Dovecot (`dovecot` from Debian's dovecot-imapd; .ci/run installs it)",
        shutil.which("dovecot") is not None,
    )
    need("root, to start Dovecot (its processes drop to the dovecot user)", os.geteuid() == 0)
    if tls:
        need("openssl", shutil.which("openssl") is not None)
    # Not pytest's tmp_path: Dovecot's mail processes (user dovecot) must reach the maildirs.
    root = Path(tempfile.mkdtemp(prefix="allsak-dovecot-"))
    root.chmod(0o755)
    token = secrets.token_urlsafe(16) if oauth2 else None
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, root, True)
        tokeninfo = stack.enter_context(_tokeninfo(token)) if token else None
        server = Dovecot(root, port=free_port(), tls_port=free_port() if tls else None, oauth_token=token)
        _prepare(root, server, tokeninfo)
        if tls:
            await _run(
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                "-keyout", f"{root}/key.pem", "-out", f"{root}/cert.pem", "-subj", "/CN=127.0.0.1",
                "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                output=root / "openssl.out",
            )  # fmt: skip
        await _run("dovecot", "-c", str(server.conf), output=root / "start.out")
        try:
            await wait_for(lambda: _listening(server.port))
            if server.tls_port:
                await wait_for(lambda: _listening(server.tls_port or 0))
            yield server
        finally:
            await _stop(server)


def _prepare(root: Path, server: Dovecot, tokeninfo: str | None) -> None:
    account = pwd.getpwnam("dovecot")
    for name in ("mail", "run", "state"):
        (root / name).mkdir()
    os.chown(root / "mail", account.pw_uid, account.pw_gid)
    (root / "users").write_text(
        f"{USER}:{{PLAIN}}{PASSWORD}:{account.pw_uid}:{account.pw_gid}::{root}/mail/agent\n"
    )
    if tokeninfo:
        (root / "oauth2.conf").write_text(f"tokeninfo_url = {tokeninfo}\nusername_attribute = email\n")
    server.conf.write_text(_config(root, port=server.port, tls_port=server.tls_port, tokeninfo=tokeninfo))


async def _stop(server: Dovecot) -> None:
    pid_file = server.root / "run" / "master.pid"
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text())
    # `doveadm stop` takes two seconds; a test server needs no orderly shutdown. The master
    # leads its own process group (it calls setsid), which holds every Dovecot process it started.
    with contextlib.suppress(ProcessLookupError):
        if os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGKILL)
    await wait_for(lambda: not _alive(pid))
