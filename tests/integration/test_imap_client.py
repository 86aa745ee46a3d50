"""The IMAP connection against a real Dovecot: TLS, STARTTLS, XOAUTH2, moving without MOVE, and
whether the server hands back the bytes it was given (the dedupe of the poller relies on it)."""

from __future__ import annotations

import ssl
import time

import pytest

from services.intake.channels.imap_client import CommandFailed, ImapConnection
from services.intake.mailboxes.schemas import ImapSettings
from tests.support.dovecot import Dovecot, dovecot

pytestmark = pytest.mark.integration

MAIL = b"From: kari@kunde.no\r\nTo: support@firma.no\r\nSubject: Hei\r\nMessage-ID: <c1@kunde.no>\r\n\r\nHei.\r\n"


async def open_(server: Dovecot, secret: str | None = None, *, ca_file: str | None = None, **imap: object):
    return await ImapConnection.open(
        ImapSettings.model_validate(server.imap_settings(**imap)),
        secret or server.password,
        timeout=5,
        ca_file=ca_file,
    )


async def test_dovecot_hands_back_the_appended_bytes() -> None:
    bare_lf = MAIL.replace(b"\r\n", b"\n")
    async with dovecot() as server:
        first = await server.append(MAIL)
        second = await server.append(bare_lf)
        connection = await open_(server)
        try:
            await connection.select("INBOX")
            assert await connection.uids_after(0) == [first, second]
            assert await connection.uids_after(second) == []
            assert await connection.fetch(first) == MAIL
            # Bare LF comes back as CRLF, and the same on every fetch: the content hash holds.
            assert await connection.fetch(second) == MAIL
            assert await connection.fetch(second + 10) is None
            assert await connection.sizes([first, second]) == {first: len(MAIL), second: len(MAIL)}
        finally:
            await connection.close()


async def test_without_move_a_message_is_copied_flagged_and_expunged() -> None:
    async with dovecot() as server:
        uid = await server.append(MAIL)
        connection = await open_(server)
        try:
            await connection.select("INBOX")
            await connection.ensure_folder("Allsak/Processed")
            await connection.ensure_folder("Allsak/Processed")  # already there: no error
            connection._protocol.capabilities.discard("MOVE")  # a server without RFC 6851
            await connection.move(uid, "Allsak/Processed")
            assert await connection.uids_after(0) == []
        finally:
            await connection.close()
        # Dovecot's maildir++ layout delimits with "."; the configured "/" is translated.
        assert await server.messages("Allsak.Processed") == [MAIL]
        assert await server.messages("INBOX") == []


async def test_starttls_and_implicit_tls_verify_the_certificate() -> None:
    async with dovecot(tls=True) as server:
        for imap in ({"security": "starttls"}, {"security": "tls", "port": server.tls_port}):
            connection = await open_(server, ca_file=server.ca_file, **imap)
            await connection.select("INBOX")
            await connection.close()
        logins = [line for line in server.log.splitlines() if "Login: user=<agent@example.no>" in line]
        assert len(logins) == 2
        assert all(", TLS," in line for line in logins), logins
        # Not signed by a CA we trust: refused before a password is sent.
        with pytest.raises(ssl.SSLCertVerificationError):
            await open_(server, security="tls", port=server.tls_port)
        with pytest.raises(ssl.SSLCertVerificationError):
            await open_(server, security="starttls")


async def test_xoauth2_logs_in_with_a_token_and_a_bad_token_fails_at_once() -> None:
    async with dovecot(oauth2=True) as server:
        assert server.oauth_token
        connection = await open_(server, server.oauth_token, auth="xoauth2")
        await connection.select("INBOX")
        await connection.close()
        assert "method=XOAUTH2" in server.log
        started = time.monotonic()
        # The server's error challenge is answered, so this is a NO and not a 5 s timeout.
        with pytest.raises(CommandFailed):
            await open_(server, "not-a-token", auth="xoauth2")
        assert time.monotonic() - started < 3
