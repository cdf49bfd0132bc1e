"""Start, stop and inspect the embedded cluster as a background process (``tiphys up/down/status``)."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass

import httpx

from ..home import Home

__all__ = ["ClusterStatus", "StartError", "down", "status", "up"]


class StartError(RuntimeError):
    """The cluster did not come up; the message points at its log."""


@dataclass(frozen=True)
class ClusterStatus:
    running: bool
    pid: int | None
    port: int | None
    ready: bool

    @property
    def server(self) -> str | None:
        return f"https://127.0.0.1:{self.port}" if self.port else None


def _pid(home: Home) -> int | None:
    try:
        pid = int(home.pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


def _port(home: Home) -> int | None:
    try:
        return int(home.port_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _ready(home: Home, port: int) -> bool:
    ca = home.pki_dir / "ca.crt"
    if not ca.exists():
        return False
    try:
        context = ssl.create_default_context(cafile=str(ca))
        response = httpx.get(f"https://127.0.0.1:{port}/readyz", verify=context, timeout=1.0)
        return response.status_code == 200
    except httpx.HTTPError:
        return False


def status(home: Home) -> ClusterStatus:
    pid, port = _pid(home), _port(home)
    ready = pid is not None and port is not None and _ready(home, port)
    return ClusterStatus(running=pid is not None, pid=pid, port=port, ready=ready)


def up(home: Home, *, port: int | None = None, timeout: float = 30.0, controllers: bool = True) -> ClusterStatus:
    """Start the cluster in the background unless it runs already; return once the API answers.

    With ``controllers`` (the default) the cluster runs ``tiphys controller`` as a supervised child.
    """
    home.ensure()
    current = status(home)
    if current.running:
        if port and current.port != port:
            raise StartError(f"the embedded cluster already runs on port {current.port}; run `tiphys down` first")
        deadline = time.monotonic() + timeout
        while not current.ready and time.monotonic() < deadline:
            time.sleep(0.05)
            current = status(home)
        return current
    argv = [sys.executable, "-m", "tiphys.cluster", "--home", str(home.root)]
    if port:
        argv += ["--port", str(port)]
    if not controllers:
        argv.append("--no-controllers")
    with open(home.server_log, "ab") as log_file:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StartError(f"the embedded cluster exited with code {process.returncode}; see {home.server_log}")
        chosen = _port(home)
        if chosen and _pid(home) == process.pid and _ready(home, chosen):
            return status(home)
        time.sleep(0.05)
    process.terminate()
    raise StartError(f"the embedded cluster did not answer within {timeout:.0f}s; see {home.server_log}")


def down(home: Home, *, timeout: float = 15.0) -> bool:
    """Stop the cluster, keeping its data; False when it was not running."""
    pid = _pid(home)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _pid(home) is None:
            return True
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return True
