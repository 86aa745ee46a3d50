"""Real servers for tests: a fresh RabbitMQ vhost or PostgreSQL database per test.

A server that is not reachable skips the test, except under ``CI=true`` where it fails it:
CI must run everything.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid

import pytest

RABBIT_HOST = os.environ.get("ALLSAK_TEST_RABBITMQ_HOST", "127.0.0.1")
RABBIT_PORT = int(os.environ.get("ALLSAK_TEST_RABBITMQ_PORT", "5672"))
PG_HOST = os.environ.get("ALLSAK_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("ALLSAK_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("ALLSAK_TEST_PG_USER", "postgres")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def need(what: str, ok: bool) -> None:
    if ok:
        return
    message = f"{what} is not reachable; start it (see README, 'Tests') to run this test"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true: {message}")
    pytest.skip(message)


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


class RabbitVhost:
    def __init__(self) -> None:
        self.name = f"allsak_t_{uuid.uuid4().hex[:10]}"

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@{RABBIT_HOST}:{RABBIT_PORT}/{self.name}"

    def create(self) -> None:
        _rabbitmqctl("add_vhost", self.name)
        _rabbitmqctl("set_permissions", "-p", self.name, "guest", ".*", ".*", ".*")

    def drop(self) -> None:
        _rabbitmqctl("delete_vhost", self.name)


def rabbit_vhost() -> RabbitVhost:
    need(f"RabbitMQ on {RABBIT_HOST}:{RABBIT_PORT}", _reachable(RABBIT_HOST, RABBIT_PORT))
    need("rabbitmqctl", shutil.which("rabbitmqctl") is not None)
    vhost = RabbitVhost()
    vhost.create()
    return vhost


class PgDatabase:
    def __init__(self, label: str = "t") -> None:
        self.name = f"allsak_{label}_{uuid.uuid4().hex[:10]}"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{self.name}"

    def _psql(self, sql: str) -> None:
        subprocess.run(
            ["psql", "-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER, "-d", "postgres", "-qc", sql],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def create(self) -> None:
        self._psql(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        self._psql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def pg_database(label: str = "t") -> PgDatabase:
    need(f"PostgreSQL on {PG_HOST}:{PG_PORT}", _reachable(PG_HOST, PG_PORT))
    need("psql", shutil.which("psql") is not None)
    db = PgDatabase(label)
    db.create()
    return db
