"""``tiphys controller``: the Application controller and the workflow controller, with the Git webhook endpoint.

It runs until SIGTERM or Ctrl-C, then releases its Lease so that a standby controller takes over
at once. Exit codes: 0 stopped by a signal; 1 it could not run (cluster unreachable, the webhook
address taken); 2 a bad invocation. Without ``--kubeconfig`` it runs against the embedded
cluster of ``$TIPHYS_HOME`` (``tiphys up`` starts it this way); ``$KUBECONFIG`` is never read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from rich.console import Console
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from tiphys.controller.appcontroller import AppController, Settings, default_identity
from tiphys.kube import Kube, KubeConfigError, KubeError
from tiphys.workflows.controller import run_controller as run_workflow_controller

__all__ = ["register"]

err = Console(stderr=True)
log = logging.getLogger("tiphys.controller")


class WorkflowMode(StrEnum):
    AUTO = "auto"
    ON = "on"
    OFF = "off"


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


def _address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise _fail(f"--webhook-addr {text!r} is not HOST:PORT (like 127.0.0.1:8089)")
    return host.strip("[]"), int(port)


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the controller decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _http_app(controller: AppController) -> Starlette:
    from tiphys.server.webhook import kube_secrets, webhook_app

    async def healthz(request: Request) -> PlainTextResponse:
        return PlainTextResponse("leading" if controller.elector.leading else "standby")

    hook = webhook_app(on_push=controller.on_push, secrets=kube_secrets(controller.home))
    return Starlette(routes=[Route("/healthz", healthz), Mount("/", app=hook)])


def _listen(host: str, port: int) -> socket.socket:
    """Bind the webhook address before anything else, so a taken port is a clear error (exit 1)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


async def _serve(kube: Kube, lease_kube: Kube, settings: Settings, sock: socket.socket) -> None:
    controller = AppController(kube, settings, lease_kube=lease_kube)
    config = uvicorn.Config(_http_app(controller), loop="none", lifespan="off", log_level="warning", access_log=False)
    server = _Server(config)
    main = asyncio.current_task()
    assert main is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, main.cancel)
    web = asyncio.create_task(server.serve(sockets=[sock]), name="webhook server")
    # Workflows run under every controller (their writes are conditional and pod names fixed, so two
    # never double a pod); the mode decides whether a real Argo Workflows controller takes them.
    workflows = asyncio.create_task(
        run_workflow_controller(kube, mode=settings.workflow_controller), name="workflow controller"
    )
    try:
        await controller.run()
    except asyncio.CancelledError:
        log.info("stopping")
    finally:
        server.should_exit = True
        workflows.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await web
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await workflows
        await kube.close()
        await lease_kube.close()


def controller(
    kubeconfig: Annotated[
        Path | None, typer.Option("--kubeconfig", help="The cluster the Applications live in (default: embedded).")
    ] = None,
    context: Annotated[str | None, typer.Option("--context", help="A context of the kubeconfig.")] = None,
    repo_poll: Annotated[
        float, typer.Option("--repo-poll", help="Seconds between checks of Git for new commits (with jitter).")
    ] = 180.0,
    webhook_addr: Annotated[
        str, typer.Option("--webhook-addr", help="HOST:PORT serving POST /api/webhook.")
    ] = "127.0.0.1:8089",
    workflow_controller: Annotated[
        WorkflowMode, typer.Option("--workflow-controller", help="Run the workflow controller: auto, on or off.")
    ] = WorkflowMode.AUTO,
    concurrency: Annotated[int, typer.Option("--concurrency", help="Applications processed at once.")] = 20,
    resync: Annotated[
        float | None, typer.Option("--resync", help="Seconds after which every app is refreshed (default 180).")
    ] = None,
) -> None:
    """Run the Application controller: refresh, automated sync, self-heal, hooks — until stopped."""
    if repo_poll <= 0:
        raise _fail("--repo-poll must be a positive number of seconds")
    if concurrency < 1:
        raise _fail("--concurrency must be at least 1")
    if resync is not None and resync <= 0:
        raise _fail("--resync must be a positive number of seconds")
    host, port = _address(webhook_addr)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for chatty in ("httpx", "httpx2", "httpcore", "lightkube"):  # one line per request is not a log
        logging.getLogger(chatty).setLevel(logging.WARNING)
    try:
        kube = Kube.from_kubeconfig(kubeconfig, context=context)
        lease_kube = Kube.from_kubeconfig(kubeconfig, context=context, timeout=5.0)
    except KubeConfigError as e:
        raise _fail(str(e)) from e
    settings = Settings(
        repo_poll=repo_poll,
        resync=resync if resync is not None else max(180.0, repo_poll),
        concurrency=concurrency,
        identity=default_identity(),
        workflow_controller=workflow_controller.value,
    )
    log.info("controller %s starting (repo poll %ss, concurrency %s)", settings.identity, repo_poll, concurrency)
    try:
        sock = _listen(host, port)
    except OSError as e:
        raise _fail(f"the webhook address {webhook_addr} could not be served: {e.strerror or e}", 1) from e
    try:
        asyncio.run(_run(kube, lease_kube, settings, sock))
    except KubeError as e:
        raise _fail(f"the cluster could not be reached: {e}", 1) from e
    finally:
        sock.close()


async def _run(kube: Kube, lease_kube: Kube, settings: Settings, sock: socket.socket) -> None:
    with contextlib.suppress(asyncio.CancelledError):
        await _serve(kube, lease_kube, settings, sock)


def register(app: Any) -> None:
    app.command(name="controller")(controller)
