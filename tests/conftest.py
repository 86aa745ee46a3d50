from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.support.servers import PgDatabase, RabbitVhost, pg_database, rabbit_vhost


@pytest.fixture
def amqp_url() -> Iterator[str]:
    """A fresh RabbitMQ vhost for this test, removed afterwards."""
    vhost: RabbitVhost = rabbit_vhost()
    try:
        yield vhost.url
    finally:
        vhost.drop()


@pytest.fixture
def pg_url_factory() -> Iterator[Callable[[str], str]]:
    """Makes fresh PostgreSQL databases for this test (one per label), dropped afterwards."""
    made: list[PgDatabase] = []

    def make(label: str = "t") -> str:
        db = pg_database(label)
        made.append(db)
        return db.url

    yield make
    for db in made:
        db.drop()
