"""Intake end to end: mails/s from POST until every case exists and every acknowledgement is out.

    .venv/bin/python tests/bench/intake_e2e.py [--mails N] [--concurrency C] [--mode embedded|distributed|both]

Posts N generated mails (plain, HTML, with attachment, with æøå) through the gateway and
prints mails/s for the embedded mode (one process, SQLite, in-process bus) and the
distributed mode (six processes, PostgreSQL, RabbitMQ, SMTP to a local sink), plus the
parse-only rate of the same mails in this process.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from allsak.embedded import embedded  # noqa: E402
from allsak.services import NAMES  # noqa: E402
from services.intake.domain import parse_message  # noqa: E402
from tests.support.cluster import Cluster  # noqa: E402
from tests.support.mail import KINDS, make_mail  # noqa: E402
from tests.support.smtp_sink import SmtpSink  # noqa: E402

TOKEN = "bench-admin-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def mails(n: int) -> list[bytes]:
    return [make_mail(i, kind=KINDS[i % len(KINDS)])[0] for i in range(n)]


async def drive(
    api: httpx.AsyncClient,
    raws: list[bytes],
    concurrency: int,
    acknowledged: Callable[[], int],
    timeout: float,
) -> float:
    """Post every mail, wait until every acknowledgement is out; return the seconds it took."""
    semaphore = asyncio.Semaphore(concurrency)

    async def post(raw: bytes) -> None:
        async with semaphore:
            response = await api.post(
                "/api/v1/intake/mail", content=raw, headers={**AUTH, "Content-Type": "message/rfc822"}
            )
            response.raise_for_status()

    started = time.perf_counter()
    await asyncio.gather(*(post(raw) for raw in raws))
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


async def bench_embedded(raws: list[bytes], concurrency: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        sent = data / "mail" / "sent"
        async with embedded(data, gateway={"admin_token": TOKEN}) as apps:
            transport = httpx.ASGITransport(app=apps["gateway"])
            async with httpx.AsyncClient(transport=transport, base_url="http://allsak", timeout=60) as api:
                seconds = await drive(
                    api, raws, concurrency, lambda: len(list(sent.glob("*.eml"))) if sent.exists() else 0, 600
                )
                assert await count_cases(api) == len(raws), "every mail must be exactly one case"
    return seconds


async def bench_distributed(raws: list[bytes], concurrency: int) -> float:
    from tests.support.servers import pg_database, rabbit_vhost

    vhost = rabbit_vhost()
    databases = {name: pg_database(name) for name in NAMES}
    try:
        with tempfile.TemporaryDirectory() as tmp, SmtpSink() as smtp:
            cluster = Cluster(
                Path(tmp),
                amqp_url=vhost.url,
                database_urls={name: db.url for name, db in databases.items()},
                admin_token=TOKEN,
                smtp_url=smtp.url,
            )
            try:
                await asyncio.to_thread(cluster.start_all)
                async with httpx.AsyncClient(base_url=cluster.url("gateway"), timeout=60) as api:
                    seconds = await drive(api, raws, concurrency, lambda: len(smtp.messages), 600)
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


async def run(mode: str, n: int, concurrency: int) -> None:
    raws = mails(n)
    size = sum(len(r) for r in raws) / n
    print(f"intake_e2e: {n} mails ({', '.join(KINDS)}; mean {size:.0f} bytes), concurrency {concurrency}")
    seconds = parse_only(raws)
    print(f"  parse only          {n / seconds:10.1f} mails/s   ({seconds * 1000 / n:.2f} ms per mail)")
    runs: list[tuple[str, Callable[[list[bytes], int], Awaitable[float]]]] = []
    if mode in ("embedded", "both"):
        runs.append(("embedded", bench_embedded))
    if mode in ("distributed", "both"):
        runs.append(("distributed", bench_distributed))
    for name, bench in runs:
        try:
            seconds = await bench(raws, concurrency)
        except BaseException as exc:  # a missing server skips that mode (pytest's Skipped is a BaseException)
            if isinstance(exc, KeyboardInterrupt):
                raise
            print(f"  {name:<19} not measured: {exc}")
            continue
        print(
            f"  {name:<19} {n / seconds:10.1f} mails/s   ({seconds:.2f} s until every case and acknowledgement)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--mails", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--mode", choices=["embedded", "distributed", "both"], default="both")
    args = parser.parse_args()
    asyncio.run(run(args.mode, args.mails, args.concurrency))


if __name__ == "__main__":
    main()
