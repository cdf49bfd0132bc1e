"""Shared fixtures: a real embedded cluster in its own process, reached over HTTPS like any other.

The session cluster runs ``python -m tiphys.cluster`` on a free port with a temporary
TIPHYS_HOME; kubectl runs with a temporary HOME and cache dir so nothing leaks between runs.
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

# Every plan the engine carries over from a previous step is also rebuilt from scratch and compared,
# in this process and in every `tiphys` process the tests start (they inherit the environment).
os.environ["TIPHYS_PLAN_CHECK"] = "1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningCluster:
    home: Path
    port: int
    process: subprocess.Popen[bytes]

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def kubeconfig(self) -> Path:
        return self.home / "kubeconfig"

    @property
    def ca(self) -> Path:
        return self.home / "cluster" / "pki" / "ca.crt"

    @property
    def token(self) -> str:
        return (self.home / "cluster" / "pki" / "admin.token").read_text().strip()

    def client(self, **kwargs: object) -> httpx.Client:
        """A raw HTTP client with the admin token, for wire-level assertions."""
        return httpx.Client(
            base_url=self.server,
            verify=ssl.create_default_context(cafile=str(self.ca)),
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
            **kwargs,
        )  # type: ignore[arg-type]

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_cluster(
    home: Path, port: int | None = None, timeout: float = 30.0, *, controllers: bool = False
) -> RunningCluster:
    """Start ``python -m tiphys.cluster``; without ``controllers`` it runs no ``tiphys controller`` child
    (tests start their own, see tests/apps/conftest.py, so that they can kill it)."""
    port = port or free_port()
    home.mkdir(parents=True, exist_ok=True)
    log = open(home / "test-server.log", "ab")  # noqa: SIM115 - lives as long as the process
    process = subprocess.Popen(
        [sys.executable, "-m", "tiphys.cluster", "--home", str(home), "--port", str(port)]
        + ([] if controllers else ["--no-controllers"]),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    running = RunningCluster(home, port, process)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"cluster exited: {(home / 'test-server.log').read_text()[-3000:]}")
        if running.kubeconfig.exists() and running.ca.exists():
            try:
                with running.client() as c:
                    if c.get("/readyz").status_code == 200:
                        return running
            except (httpx.HTTPError, ssl.SSLError):
                pass
        time.sleep(0.05)
    running.stop(signal.SIGKILL)
    raise RuntimeError("cluster did not become ready")


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCluster]:
    running = start_cluster(tmp_path_factory.mktemp("tiphys-home"))
    yield running
    running.stop()


@dataclass
class Kubectl:
    kubeconfig: Path
    home: Path

    def run(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "HOME": str(self.home), "KUBECONFIG": str(self.kubeconfig)}
        argv = ["kubectl", f"--cache-dir={self.home / 'cache'}", *args]
        result = subprocess.run(argv, input=input, capture_output=True, text=True, env=env, timeout=120)
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    def __call__(self, *args: str, input: str | None = None) -> str:
        return self.run(*args, input=input).stdout

    def json(self, *args: str) -> dict:  # type: ignore[type-arg]
        return yaml.safe_load(self(*args, "-o", "json"))


@pytest.fixture(scope="session")
def kubectl(cluster: RunningCluster, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return Kubectl(cluster.kubeconfig, tmp_path_factory.mktemp("kubectl-home"))
