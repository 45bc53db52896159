"""Start a local server-mode cluster (N `reelrank serve` processes + M `reelrank worker`s) as real
subprocesses on free localhost ports, with a PostgreSQL schema and Redis prefix of their own.
Used by the end-to-end test and bench/bench_server_mode.py."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    data_dir: Path
    database_url: str
    redis_url: str
    schema: str
    prefix: str
    encoder: str = "hashing"
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "REELRANK_DATA_DIR": str(self.data_dir), "REELRANK_DATABASE_URL": self.database_url,
            "REELRANK_REDIS_URL": self.redis_url, "REELRANK_BACKENDS__DATABASE_SCHEMA": self.schema,
            "REELRANK_BACKENDS__REDIS_PREFIX": self.prefix, "REELRANK_ENCODER__KIND": self.encoder,
            "REELRANK_CURSOR_SECRET": "cluster-test", "REELRANK_INDEX__SNAPSHOT_EVERY_S": "0",
            "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1",
        })  # fmt: skip
        return env

    def _spawn(self, args: list[str], name: str) -> subprocess.Popen[bytes]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.data_dir.parent / f"{name}.log"
        self.logs.append(log)
        fh = open(log, "wb")  # noqa: SIM115 - lives as long as the process
        p = subprocess.Popen([sys.executable, "-m", "reelrank.cli", *args], env=self.env(), stdout=fh,
                             stderr=subprocess.STDOUT)
        self.procs.append(p)
        return p

    def start_server(self, workers: int = 1) -> str:
        port = free_port()
        self._spawn(["serve", "--port", str(port), "--workers", str(workers)], f"serve-{port}")
        url = f"http://127.0.0.1:{port}"
        self.urls.append(url)
        return url

    def start_worker(self) -> None:
        self._spawn(["worker"], f"worker-{len(self.procs)}")

    def wait_ready(self, timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        for url in self.urls:
            while True:
                dead = [p for p in self.procs if p.poll() is not None]
                if dead:
                    raise RuntimeError(f"a cluster process exited: {self.tail()}")
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{url} not ready: {self.tail()}")
                time.sleep(0.2)

    def tail(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in self.logs if p.exists())

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs.clear()
