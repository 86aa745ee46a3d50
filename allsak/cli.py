"""The ``allsak`` command: run everything in one process, one service alone, migrations and DLQs."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import secrets
import tempfile
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn

from allsak.embedded import embedded
from allsak.services import DEFAULT_PORTS, NAMES, service
from shared import logging as logs
from shared.db import Database
from shared.migrations import autogenerate, current, upgrade
from shared.runtime import Runtime

logger = logging.getLogger("allsak")


class GracefulServer(uvicorn.Server):
    """Stops on SIGINT/SIGTERM and returns, so that the services' own shutdown runs afterwards.

    uvicorn re-raises the signal once it has stopped serving, which would end the process
    before the outbox relays, consumers and database pools are closed.
    """

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self._captured_signals.clear()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="allsak", description="Allsak service desk")
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="run every service in one process (embedded mode)")
    up.add_argument("--demo", action="store_true", help="load demo data at start")
    up.add_argument("--data", type=Path, default=Path("data"), help="data folder (SQLite files, blobs, mail)")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=int, default=8000)

    run = commands.add_parser("run", help="run one service as its own process (distributed mode)")
    run.add_argument("service", choices=NAMES)
    run.add_argument("--host", default="0.0.0.0")
    run.add_argument("--port", type=int)

    migrate = commands.add_parser("migrate", help="migrate the databases of one or every service")
    migrate.add_argument("service", nargs="?", choices=NAMES)
    migrate.add_argument("--show", action="store_true", help="show the current revision instead")

    dlq = commands.add_parser("dlq", help="dead-letter queues on RabbitMQ (ALLSAK_AMQP_URL)")
    dlq.add_argument("action", choices=["list", "replay"])
    dlq.add_argument("queue", help="consumer queue, e.g. cases.on_message_received")

    seed = commands.add_parser("seed", help="load department packs (configuration and demo cases)")
    seed.add_argument("packs", nargs="*", metavar="PACK", help="e.g. it hr; see --list")
    seed.add_argument("--list", action="store_true", help="list the packs")
    seed.add_argument("--data", type=Path, default=Path("data"), help="data folder of an embedded Allsak")
    seed.add_argument("--url", help="a running Allsak instead, through its gateway: http://host:port")
    seed.add_argument("--token", help="an admin API token for --url")
    seed.add_argument("--no-cases", action="store_true", help="configuration only, no demo cases")

    revision = commands.add_parser("revision", help="(development) autogenerate a migration")
    revision.add_argument("service", choices=NAMES)
    revision.add_argument("-m", "--message", required=True)

    args = parser.parse_args(argv)
    logs.configure()
    if args.command == "up":
        asyncio.run(_up(args.data, args.host, args.port, demo=args.demo))
    elif args.command == "run":
        asyncio.run(_run(args.service, args.host, args.port or DEFAULT_PORTS[args.service]))
    elif args.command == "migrate":
        asyncio.run(_migrate([args.service] if args.service else list(NAMES), show=args.show))
    elif args.command == "dlq":
        asyncio.run(_dlq(args.action, args.queue))
    elif args.command == "seed":
        _seed(parser, args)
    elif args.command == "revision":
        asyncio.run(_revision(args.service, args.message))


async def _up(data: Path, host: str, port: int, *, demo: bool) -> None:
    data = data.resolve()
    overrides: dict[str, dict[str, str]] = {}
    token_file = data / "admin-token.txt"
    if demo and not getattr(service("gateway").settings_class()(), "admin_token", None):
        # A demo needs someone to log in as: a fresh admin token, shown once and kept in the data folder.
        data.mkdir(parents=True, exist_ok=True)
        if not token_file.exists():
            token_file.write_text(secrets.token_urlsafe(32) + "\n")
            token_file.chmod(0o600)
        overrides["gateway"] = {"admin_token": token_file.read_text().strip()}
    async with embedded(data, **overrides) as apps:
        loading: asyncio.Task[None] | None = None
        if demo:
            logger.info(
                "demo admin token: %s (also in %s)",
                overrides.get("gateway", {}).get("admin_token", "from ALLSAK_ADMIN_TOKEN"),
                token_file,
            )
            if not (data / "demo-loaded").exists():
                # Served at once; the demo's months of cases arrive while one looks around.
                loading = asyncio.create_task(_load_demo(apps, data / "demo-loaded"))
        config = uvicorn.Config(apps["gateway"], host=host, port=port, lifespan="off", log_config=None)
        logger.info("Allsak is up on http://%s:%d (data in %s)", host, port, data)
        try:
            await GracefulServer(config).serve()
        finally:
            if loading is not None and not loading.done():
                # Stopped half way: the next start loads the rest (loading is idempotent).
                loading.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await loading


async def _load_demo(apps: dict[str, Any], marker: Path) -> None:
    from allsak.demo import load_demo

    try:
        await load_demo(apps)
    except Exception:
        logger.exception("demo data could not be loaded; the next start tries again")
        return
    marker.touch()
    logger.info("demo data loaded")


async def _run(name: str, host: str, port: int) -> None:
    module = service(name)
    settings = module.settings_class()()
    logs.configure(settings.log_level, settings.log_json)
    async with Runtime.distributed(settings) as runtime:
        app = module.create_app(settings, runtime)
        config = uvicorn.Config(app, host=host, port=port, log_config=None, lifespan="on")
        await GracefulServer(config).serve()


async def _migrate(names: list[str], *, show: bool) -> None:
    for name in names:
        module = service(name)
        settings = module.settings_class()()
        if not settings.database_url:
            raise SystemExit(f"ALLSAK_{name.upper()}_DATABASE_URL is not set")
        db = Database(settings.database_url, module.metadata())
        try:
            if show:
                await current(db, module.migrations, service=name)
            else:
                await upgrade(db, module.migrations, service=name)
                print(f"{name}: migrated")
        finally:
            await db.dispose()


async def _dlq(action: str, queue: str) -> None:
    settings = service("gateway").settings_class()()
    async with Runtime.distributed(settings) as runtime:
        if action == "list":
            letters = await runtime.transport.dead_letters(queue)
            for letter in letters:
                print(
                    f"{letter.message_id}\t{letter.routing_key}\t{letter.body[:200].decode(errors='replace')}"
                )
            print(f"{len(letters)} dead letter(s) in {queue}.dlq")
        else:
            count = await runtime.transport.replay(queue)
            print(f"replayed {count} message(s) into {queue}")


def _seed(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    from allsak import packs, seed

    if args.list:
        for info in packs.describe():
            cases = f" ({info.cases} demo cases)" if info.cases else ""
            print(f"{info.key:<18}{info.description}{cases}")
        return
    if not args.packs:
        parser.error("seed: name at least one pack, or --list")
    if args.url and not args.token:
        parser.error("seed: --url needs --token (an admin API token)")
    try:
        packs.with_requirements(args.packs)
    except packs.UnknownPack as exc:
        parser.error(f"seed: {exc}")
    try:
        if args.url:
            asyncio.run(seed.seed_remote(args.url, args.token, args.packs, cases=not args.no_cases))
        else:
            asyncio.run(seed.seed_data_folder(args.data.resolve(), args.packs, cases=not args.no_cases))
    except seed.SeedError as exc:
        raise SystemExit(f"seed failed: {exc}") from None


async def _revision(name: str, message: str) -> None:
    module = service(name)
    with tempfile.TemporaryDirectory() as tmp:
        runtime = Runtime.embedded(data_dir=Path(tmp))
        db = runtime.database(runtime.database_url(name, None), module.metadata())
        try:
            await autogenerate(db, module.migrations, service=name, message=message)
        finally:
            await db.dispose()


if __name__ == "__main__":
    main()
