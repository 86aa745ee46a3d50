"""The ``allsak`` command as a user runs it: ``up --demo`` and ``migrate``."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from tests.support.receiver import free_port

ALLSAK = str(Path(sys.executable).parent / "allsak")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALLSAK_")}
    env.update(extra)
    return env


def test_up_with_demo_data_serves_cases_to_the_printed_token(tmp_path: Path) -> None:
    port = free_port()
    log = (tmp_path / "up.log").open("wb")
    process = subprocess.Popen(
        [ALLSAK, "up", "--demo", "--data", str(tmp_path / "data"), "--port", str(port)],
        env=clean_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp_path / "up.log").read_text()
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "allsak up did not become ready"
            time.sleep(0.1)
        token = (tmp_path / "data" / "admin-token.txt").read_text().strip()
        assert token in (tmp_path / "up.log").read_text()
        headers = {"Authorization": f"Bearer {token}"}
        # Served before the demo is in: its months of cases and the demo mails arrive meanwhile.
        deadline = time.monotonic() + 300
        while "demo data loaded" not in (tmp_path / "up.log").read_text():
            assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "up.log").read_text()
            time.sleep(0.2)
        cases = httpx.get(f"{base}/api/v1/cases", params={"limit": 200}, headers=headers).json()
        assert len(cases["items"]) == 200 and cases["next_cursor"]

        # The demo mail went through intake into IT's queue, as the pack's mailbox routes it.
        def mailed() -> list[dict[str, str]]:
            params = {"q": "papirstopp kantina", "queue": "IT"}
            items: list[dict[str, str]] = httpx.get(
                f"{base}/api/v1/cases", params=params, headers=headers
            ).json()["items"]
            return [c for c in items if c["channel"] == "mail"]

        while not mailed():
            assert time.monotonic() < deadline, "the demo mail did not become a case"
            time.sleep(0.2)
        found = httpx.get(f"{base}/api/v1/search", params={"q": "skriveren", "kind": "case"}, headers=headers)
        assert found.status_code == 200 and len(found.json()["items"]) >= 5, found.text
        assert "ERROR" not in (tmp_path / "up.log").read_text()
        assert httpx.get(f"{base}/cases", follow_redirects=False).status_code in (302, 303, 307)
        assert "allsak_http_requests_total" in httpx.get(f"{base}/metrics").text
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert process.returncode == 0, (tmp_path / "up.log").read_text()


async def test_migrate_creates_the_tables_of_a_service(pg_url_factory: Callable[[str], str]) -> None:
    url = pg_url_factory("cases")
    env = clean_env(ALLSAK_CASES_DATABASE_URL=url)
    result = await asyncio.to_thread(
        subprocess.run, [ALLSAK, "migrate", "cases"], env=env, capture_output=True, timeout=120
    )
    assert result.returncode == 0, result.stderr.decode()
    assert b"cases: migrated" in result.stdout
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await engine.dispose()
    assert {"case", "article", "customer", "outbox", "inbox", "alembic_version"} <= tables
    shown = await asyncio.to_thread(
        subprocess.run, [ALLSAK, "migrate", "cases", "--show"], env=env, capture_output=True, timeout=120
    )
    assert shown.returncode == 0 and b"(head)" in shown.stdout + shown.stderr
