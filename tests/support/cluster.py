"""The distributed system for tests: each service its own OS process on RabbitMQ and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from allsak.services import NAMES
from tests.support.receiver import free_port

BIN = Path(sys.executable).parent


class Cluster:
    def __init__(
        self,
        workdir: Path,
        *,
        amqp_url: str,
        database_urls: dict[str, str],
        admin_token: str,
        smtp_url: str | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.ports = {name: free_port() for name in NAMES}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        env = {k: v for k, v in os.environ.items() if not k.startswith("ALLSAK_")}
        env.update(
            ALLSAK_AMQP_URL=amqp_url,
            ALLSAK_DATA_DIR=str(workdir / "data"),
            ALLSAK_BLOB_DIR=str(workdir / "blobs"),
            ALLSAK_ADMIN_TOKEN=admin_token,
            ALLSAK_INTERNAL_TOKEN="cluster-internal-secret",
            ALLSAK_OUTBOX_POLL_SECONDS="0.2",
            ALLSAK_LOG_LEVEL="INFO",
        )
        if smtp_url:
            env["ALLSAK_SMTP_URL"] = smtp_url
        for name in NAMES:
            env[f"ALLSAK_{name.upper()}_URL"] = self.url(name)
            if name in database_urls:
                env[f"ALLSAK_{name.upper()}_DATABASE_URL"] = database_urls[name]
        env.update(extra_env or {})
        self.env = env

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def log(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def start(self, name: str) -> None:
        with self.log(name).open("ab") as log:
            self.processes[name] = subprocess.Popen(
                [str(BIN / "allsak"), "run", name, "--host", "127.0.0.1", "--port", str(self.ports[name])],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
            )

    def wait_ready(self, name: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            process = self.processes[name]
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{self.tail(name)}")
            try:
                if httpx.get(f"{self.url(name)}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{name} not ready within {timeout}s:\n{self.tail(name)}")

    def start_all(self) -> None:
        for name in NAMES:
            self.start(name)
        for name in NAMES:
            self.wait_ready(name)

    def kill(self, name: str) -> None:
        """SIGKILL: no shutdown code runs, as in a crash."""
        process = self.processes[name]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def tail(self, name: str, lines: int = 40) -> str:
        path = self.log(name)
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""
