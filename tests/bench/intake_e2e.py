"""Intake end to end: mails/s from the first mail in until every case exists and every
acknowledgement is out.

    .venv/bin/python tests/bench/intake_e2e.py [--mails N] [--concurrency C]
        [--mode embedded|distributed|both] [--channel http|smtp|imap|all]

Sends N generated mails (plain, HTML, with attachment, with æøå) in through HTTP (the
gateway's `POST /api/v1/intake/mail`), SMTP (intake's receiver) or IMAP (appended to a
private Dovecot that intake polls), and prints mails/s for the embedded mode (one process,
SQLite, in-process bus) and the distributed mode (six processes, PostgreSQL, RabbitMQ,
SMTP out to a local sink), plus the parse-only rate of the same mails in this process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiosmtplib
import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from allsak.embedded import embedded  # noqa: E402
from allsak.services import NAMES  # noqa: E402
from services.intake.domain import parse_message  # noqa: E402
from tests.support.cluster import Cluster  # noqa: E402
from tests.support.dovecot import Dovecot, dovecot  # noqa: E402
from tests.support.mail import KINDS, make_mail  # noqa: E402
from tests.support.receiver import free_port  # noqa: E402
from tests.support.smtp_sink import SmtpSink  # noqa: E402

TOKEN = "bench-admin-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SUPPORT = "support@servicedesk.example.no"
CHANNELS = ("http", "smtp", "imap")

Send = Callable[[list[bytes]], Awaitable[None]]


def mails(n: int) -> list[bytes]:
    return [make_mail(i, kind=KINDS[i % len(KINDS)])[0] for i in range(n)]


async def bounded(concurrency: int, items: list[bytes], one: Callable[[bytes], Awaitable[None]]) -> None:
    semaphore = asyncio.Semaphore(concurrency)

    async def guarded(item: bytes) -> None:
        async with semaphore:
            await one(item)

    await asyncio.gather(*(guarded(item) for item in items))


def http_sender(api: httpx.AsyncClient, concurrency: int) -> Send:
    async def post(raw: bytes) -> None:
        response = await api.post(
            "/api/v1/intake/mail", content=raw, headers={**AUTH, "Content-Type": "message/rfc822"}
        )
        response.raise_for_status()

    return lambda raws: bounded(concurrency, raws, post)


def smtp_sender(port: int, concurrency: int) -> Send:
    async def send(raw: bytes) -> None:
        await aiosmtplib.send(
            raw, sender="kunde@example.no", recipients=[SUPPORT], hostname="127.0.0.1", port=port
        )

    return lambda raws: bounded(concurrency, raws, send)


def imap_sender(server: Dovecot) -> Send:
    async def append_all(raws: list[bytes]) -> None:
        async with server.client() as imap:
            for raw in raws:
                response = await imap.append(raw, mailbox="INBOX")
                assert response.result == "OK", response

    return append_all


async def add_mailbox(api: httpx.AsyncClient, channel: str, server: Dovecot | None) -> None:
    body: dict[str, object] = {"name": "Support", "addresses": [SUPPORT], "channel": channel}
    if server is not None:
        body.update(imap=server.imap_settings(poll_seconds=1), secret=server.password)
    response = await api.post("/api/v1/mailboxes", json=body, headers=AUTH)
    response.raise_for_status()


async def drive(send: Send, raws: list[bytes], acknowledged: Callable[[], int], timeout: float) -> float:
    """Send every mail, wait until every acknowledgement is out; return the seconds it took."""
    started = time.perf_counter()
    await send(raws)
    deadline = started + timeout
    while acknowledged() < len(raws):
        if time.perf_counter() > deadline:
            raise TimeoutError(f"only {acknowledged()} of {len(raws)} acknowledgements after {timeout}s")
        await asyncio.sleep(0.01)
    return time.perf_counter() - started


async def count_cases(api: httpx.AsyncClient) -> int:
    total, cursor = 0, None
    while True:
        params = {"limit": "200", **({"cursor": cursor} if cursor else {})}
        page = (await api.get("/api/v1/cases", params=params, headers=AUTH)).json()
        total += len(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return total


@contextlib.asynccontextmanager
async def maybe_dovecot(channel: str) -> AsyncIterator[Dovecot | None]:
    if channel != "imap":
        yield None
        return
    async with dovecot() as server:
        yield server


def sender_for(
    channel: str, api: httpx.AsyncClient, smtp_port: int, server: Dovecot | None, concurrency: int
) -> Send:
    if channel == "smtp":
        return smtp_sender(smtp_port, concurrency)
    if channel == "imap" and server is not None:
        return imap_sender(server)
    return http_sender(api, concurrency)


async def bench_embedded(raws: list[bytes], concurrency: int, channel: str) -> float:
    smtp_port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        sent = data / "mail" / "sent"
        overrides = {"gateway": {"admin_token": TOKEN}, "intake": {"smtp_listen": f"127.0.0.1:{smtp_port}"}}
        async with maybe_dovecot(channel) as server, embedded(data, **overrides) as apps:
            transport = httpx.ASGITransport(app=apps["gateway"])
            async with httpx.AsyncClient(transport=transport, base_url="http://allsak", timeout=60) as api:
                if channel != "http":
                    await add_mailbox(api, channel, server)
                send = sender_for(channel, api, smtp_port, server, concurrency)
                seconds = await drive(
                    send, raws, lambda: len(list(sent.glob("*.eml"))) if sent.exists() else 0, 600
                )
                assert await count_cases(api) == len(raws), "every mail must be exactly one case"
    return seconds


async def bench_distributed(raws: list[bytes], concurrency: int, channel: str) -> float:
    from tests.support.servers import pg_database, rabbit_vhost

    vhost = rabbit_vhost()
    databases = {name: pg_database(name) for name in NAMES}
    smtp_port = free_port()
    try:
        async with maybe_dovecot(channel) as server:
            with tempfile.TemporaryDirectory() as tmp, SmtpSink() as smtp:
                cluster = Cluster(
                    Path(tmp),
                    amqp_url=vhost.url,
                    database_urls={name: db.url for name, db in databases.items()},
                    admin_token=TOKEN,
                    smtp_url=smtp.url,
                    extra_env={"ALLSAK_INTAKE_SMTP_LISTEN": f"127.0.0.1:{smtp_port}"},
                )
                try:
                    await asyncio.to_thread(cluster.start_all)
                    async with httpx.AsyncClient(base_url=cluster.url("gateway"), timeout=60) as api:
                        if channel != "http":
                            await add_mailbox(api, channel, server)
                        send = sender_for(channel, api, smtp_port, server, concurrency)
                        seconds = await drive(send, raws, lambda: len(smtp.messages), 600)
                        assert await count_cases(api) == len(raws), "every mail must be exactly one case"
                finally:
                    await asyncio.to_thread(cluster.stop_all)
    finally:
        vhost.drop()
        for db in databases.values():
            db.drop()
    return seconds


def parse_only(raws: list[bytes]) -> float:
    started = time.perf_counter()
    for raw in raws:
        parse_message(raw)
    return time.perf_counter() - started


async def run(mode: str, channels: list[str], n: int, concurrency: int) -> None:
    raws = mails(n)
    size = sum(len(r) for r in raws) / n
    print(f"intake_e2e: {n} mails ({', '.join(KINDS)}; mean {size:.0f} bytes), concurrency {concurrency}")
    seconds = parse_only(raws)
    print(f"  parse only                {n / seconds:10.1f} mails/s   ({seconds * 1000 / n:.2f} ms per mail)")
    modes: list[tuple[str, Callable[[list[bytes], int, str], Awaitable[float]]]] = []
    if mode in ("embedded", "both"):
        modes.append(("embedded", bench_embedded))
    if mode in ("distributed", "both"):
        modes.append(("distributed", bench_distributed))
    for name, bench in modes:
        for channel in channels:
            label = f"{name}, {channel}"
            try:
                seconds = await bench(raws, concurrency, channel)
            except (
                BaseException
            ) as exc:  # a missing server skips that run (pytest's Skipped is a BaseException)
                if isinstance(exc, KeyboardInterrupt):
                    raise
                print(f"  {label:<25} not measured: {exc!r}")
                continue
            print(
                f"  {label:<25} {n / seconds:10.1f} mails/s   ({seconds:.2f} s until every case and acknowledgement)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--mails", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--mode", choices=["embedded", "distributed", "both"], default="both")
    parser.add_argument("--channel", choices=[*CHANNELS, "all"], default="all")
    args = parser.parse_args()
    channels = list(CHANNELS) if args.channel == "all" else [args.channel]
    asyncio.run(run(args.mode, channels, args.mails, args.concurrency))


if __name__ == "__main__":
    main()
