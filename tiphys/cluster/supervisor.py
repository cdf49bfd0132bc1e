"""The embedded cluster's supervised children: ``tiphys controller`` against this very cluster.

``tiphys up`` gives a running GitOps controller, not just an API server: once the API listens,
the cluster process spawns ``python -m tiphys controller --kubeconfig <home kubeconfig>`` (argv
list, its own log file) and restarts it when it exits, with a back-off from 1 s doubling to 30 s
(reset after a minute of good running). Its webhook listens on 127.0.0.1:8089, or on a free port
when that one is taken (another cluster runs); ``<home>/cluster/webhook-addr`` says which. On
shutdown the child gets SIGTERM, so it releases its Lease, and SIGKILL if it does not exit within
10 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Final

__all__ = ["Supervisor"]

log = logging.getLogger("tiphys.cluster.supervisor")

_FIRST_DELAY: Final = 1.0
_MAX_DELAY: Final = 30.0
_HEALTHY_AFTER: Final = 60.0
_STOP_GRACE: Final = 10.0
DEFAULT_WEBHOOK_PORT: Final = 8089


def _webhook_addr(preferred: int = DEFAULT_WEBHOOK_PORT) -> str:
    """127.0.0.1:8089 (the controller's default) when free, else a free port: two clusters can run."""
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return f"127.0.0.1:{s.getsockname()[1]}"
    raise OSError("no free port for the webhook")


class Supervisor:
    def __init__(self, *, kubeconfig: Path, log_file: Path, home: Path, webhook_addr: str | None = None) -> None:
        self.webhook_addr = webhook_addr or _webhook_addr()
        self.argv = [sys.executable, "-m", "tiphys", "controller", "--kubeconfig", str(kubeconfig)]
        self.argv += ["--webhook-addr", self.webhook_addr]
        self.log_file = log_file
        self.home = home
        self.process: asyncio.subprocess.Process | None = None
        self.restarts = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        (self.log_file.parent / "webhook-addr").write_text(self.webhook_addr + "\n")
        self._task = asyncio.create_task(self._supervise(), name="controller supervisor")

    async def _spawn(self) -> asyncio.subprocess.Process:
        env = {**os.environ, "TIPHYS_HOME": str(self.home)}
        with open(self.log_file, "ab") as out:
            return await asyncio.create_subprocess_exec(
                *self.argv, stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=asyncio.subprocess.STDOUT, env=env
            )

    async def _supervise(self) -> None:
        loop = asyncio.get_running_loop()
        delay = _FIRST_DELAY
        while True:
            started = loop.time()
            try:
                self.process = await self._spawn()
            except OSError as e:
                log.error("could not start the controller: %s", e)
            else:
                log.info("controller started (pid %s), log %s", self.process.pid, self.log_file)
                code = await self.process.wait()
                log.warning("controller exited with code %s; restarting in %.0fs", code, delay)
            if loop.time() - started > _HEALTHY_AFTER:
                delay = _FIRST_DELAY
            await asyncio.sleep(delay)
            delay = min(delay * 2, _MAX_DELAY)
            self.restarts += 1

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        process = self.process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), _STOP_GRACE)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
