"""Run the embedded cluster in this process: storage, API server, controllers, kubelet.

``tiphys up`` starts this module as a background process; ``--foreground`` runs it attached.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn

from ..home import Home
from .apiserver import schema
from .apiserver.app import APIServer
from .apiserver.http import HttpProtocol
from .apiserver.objects import ObjectAPI
from .apiserver.resources import Registry
from .apiserver.store import Store
from .controllers.base import Controller
from .controllers.catalog import builtin_controllers
from .kubeconfig import write_kubeconfig
from .kubelet import Kubelet
from .kubelet.logs import LogFiles
from .pki import ensure_credentials
from .supervisor import Supervisor

__all__ = ["Cluster", "choose_port", "main"]

log = logging.getLogger("tiphys.cluster")


def choose_port(home: Home, requested: int | None) -> int:
    """The requested port, else the one used last time, else a free one; remembered for next time."""
    if requested:
        port = requested
    elif home.port_file.exists():
        port = int(home.port_file.read_text().strip())
    else:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
    home.port_file.write_text(f"{port}\n")
    return port


class _Server(uvicorn.Server):
    """uvicorn, plus ending open watch streams as soon as shutdown is asked for."""

    def __init__(self, config: uvicorn.Config, app: APIServer) -> None:
        super().__init__(config)
        self.api_app = app

    def handle_exit(self, sig: int, frame: Any) -> None:
        self.api_app.close_streams()
        super().handle_exit(sig, frame)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn re-raises the signal once it has shut down, which would end the process before
        # Cluster.serve stops the kubelet's pods and closes the store: the signal was handled.
        with super().capture_signals():
            yield
            self._captured_signals.clear()


class Cluster:
    """Everything one embedded cluster runs, wired together."""

    def __init__(self, home: Home, port: int, *, controllers: bool = True) -> None:
        home.ensure()
        self.home = home
        self.port = port
        self.credentials = ensure_credentials(home.pki_dir)
        schema.definitions()  # load once now, not on the first request
        self.store = Store(home.database)
        self.api = ObjectAPI(self.store, Registry(), schema.Schemas())
        self.api.bootstrap()
        self.logs = LogFiles(home.pod_logs)
        self.app = APIServer(
            self.api, self.credentials, server_address=f"127.0.0.1:{port}", log_reader=self._serve_logs
        )
        self.controllers: list[Controller] = builtin_controllers(self.api)
        self.kubelet = Kubelet(
            self.api,
            credentials=self.credentials,
            home=home,
            logs=self.logs,
            port=port,
            allow_host_path=os.environ.get("TIPHYS_ALLOW_HOST_PATH", "") in ("1", "true"),
        )
        # `tiphys controller` as a supervised child, started once the API listens (--no-controllers: none).
        self.supervisor = (
            Supervisor(kubeconfig=home.kubeconfig, log_file=home.cluster_dir / "controller.log", home=home.root)
            if controllers
            else None
        )

    async def _serve_logs(self, pod: dict[str, Any], query: dict[str, str], send: Any) -> None:
        meta = pod["metadata"]

        def current() -> dict[str, Any] | None:
            entry = self.store.get("/pods", meta.get("namespace", ""), meta["name"])
            return entry.obj if entry is not None else None

        await self.logs.serve(pod, query, send, current)

    @property
    def server_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    async def serve(self) -> None:
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            ssl_certfile=str(self.credentials.server_cert),
            ssl_keyfile=str(self.credentials.server_key),
            loop="none",
            http=HttpProtocol,  # uvicorn's httptools protocol, head and body written together
            lifespan="on",
            log_level="warning",
            access_log=False,
            # Clients connect to 127.0.0.1 directly: no proxy headers to trust (a middleware
            # pass over every request's headers), and no "server: uvicorn" in every response.
            proxy_headers=False,
            server_header=False,
            timeout_keep_alive=120,
            timeout_graceful_shutdown=5,
        )
        server = _Server(config, self.app)
        gc.callbacks.append(_freeze_survivors)
        for controller in self.controllers:
            controller.start()
        self.kubelet.start()
        write_kubeconfig(self.home.kubeconfig, self.server_url, self.credentials)
        self.home.pid_file.write_text(f"{os.getpid()}\n")
        children = asyncio.create_task(self._start_children(server), name="start children")
        try:
            await server.serve()
        finally:
            gc.callbacks.remove(_freeze_survivors)
            children.cancel()
            if self.supervisor is not None:
                await self.supervisor.stop()
            await self.kubelet.stop()
            for controller in self.controllers:
                await controller.stop()
            self.store.close()
            try:
                if self.home.pid_file.read_text().strip() == str(os.getpid()):
                    self.home.pid_file.unlink()
            except FileNotFoundError:
                pass

    async def _start_children(self, server: uvicorn.Server) -> None:
        while not server.started:  # uvicorn has no started event; it binds within milliseconds
            await asyncio.sleep(0.05)
        if self.supervisor is not None:
            self.supervisor.start()


def _freeze_survivors(phase: str, info: dict[str, Any]) -> None:
    """After each collection of the middle generation, move what survived it out of the collector's sight.

    Stored objects are plain acyclic dicts that live until replaced, and refcounting frees them.
    Left to the cyclic collector, each would be walked again by every full collection: under
    write load that was ~16 us per create and 40-200 ms pauses (make bench), where objects that
    survived two collections are frozen at once (gc.freeze is a list splice) for ~6 us and no
    full-heap pauses. Young garbage is still collected as before; what is frozen is what has
    already lived through two collections.
    """
    if phase == "stop" and info["generation"] >= 1:
        gc.freeze()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tiphys.cluster", description=__doc__)
    parser.add_argument("--home", required=True, type=Path)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--no-controllers",
        action="store_true",
        help="Do not run the Application controller (`tiphys controller`) as a supervised child.",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    home = Home(args.home.resolve())
    home.ensure()
    port = choose_port(home, args.port or None)
    # SIGTERM from `tiphys down` ends the server cleanly; uvicorn installs its own handlers.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    import uvloop

    uvloop.install()
    cluster = Cluster(home, port, controllers=not args.no_controllers)
    gc.collect()
    gc.freeze()  # the loaded store and schemas live as long as the process
    asyncio.run(cluster.serve())
