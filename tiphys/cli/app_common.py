"""What every ``tiphys app`` and ``tiphys cluster`` command shares: the home cluster, errors, output.

Exit codes follow ``tiphys sync``: 0 done, 1 the request failed (unknown app, refused, timed out,
the operation failed), 2 a bad invocation — and then nothing was written. The cluster where the
Applications live is the embedded one unless ``--kubeconfig``/``--context`` name another.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import yaml
from rich.console import Console

from tiphys import engine, sources
from tiphys.controller import application as apps
from tiphys.kube import Kube, KubeConfigError, KubeError, UnknownKind

from .app_spec import Refused, SpecError

__all__ = [
    "ContextOpt",
    "KubeconfigOpt",
    "OutputOpt",
    "TimeoutOpt",
    "app_or_exit",
    "console",
    "err",
    "fail",
    "open_kube",
    "parse_timeout",
    "print_data",
    "run",
]

console = Console()
err = Console(stderr=True)

T = TypeVar("T")

KubeconfigOpt = Annotated[
    Path | None, typer.Option("--kubeconfig", help="Where the Applications live (default: the embedded cluster).")
]
ContextOpt = Annotated[str | None, typer.Option("--context", help="Context of the kubeconfig.")]
OutputOpt = Annotated[str, typer.Option("-o", "--output", help="text, wide, json or yaml")]
TimeoutOpt = Annotated[str | None, typer.Option("--timeout", help="Give up after this (90s, 5m, 1h; default: never).")]


def fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False, markup=True, soft_wrap=True)
    return typer.Exit(code)


def check_output(output: str, allowed: tuple[str, ...] = ("text", "wide", "json", "yaml")) -> str:
    if output not in allowed:
        raise fail(f"-o {output!r}: choose {', '.join(allowed[:-1])} or {allowed[-1]}")
    return output


def parse_timeout(text: str | None) -> timedelta | None:
    """``90s``, ``5m``, ``1h`` or plain seconds; None for no limit."""
    if text is None or text in ("", "0"):
        return None
    try:
        value = timedelta(seconds=float(text)) if text.replace(".", "", 1).isdigit() else engine.parse_duration(text)
    except ValueError:
        raise fail(f"--timeout {text!r} is not a duration (like 90s, 5m, 1h, or seconds)") from None
    if value.total_seconds() <= 0:
        raise fail("--timeout must be positive")
    return value


def open_kube(kubeconfig: Path | None, context: str | None) -> Kube:
    """The named cluster, or the embedded one (started when needed), as ``tiphys sync`` does."""
    if kubeconfig is None:
        from tiphys.cluster import lifecycle
        from tiphys.home import home

        try:
            lifecycle.up(home())
        except lifecycle.StartError as e:
            raise fail(str(e), 1) from e
    try:
        return Kube.from_kubeconfig(kubeconfig, context=context)
    except KubeConfigError as e:
        raise fail(str(e)) from e


def run(kubeconfig: Path | None, context: str | None, body: Callable[[Kube], Coroutine[Any, Any, T]]) -> T:
    """Enter the event loop once: open the cluster, run ``body``, map errors to exit codes."""

    async def main() -> T:
        async with open_kube(kubeconfig, context) as kube:
            return await body(kube)

    try:
        return asyncio.run(main())
    except SpecError as e:
        raise fail(str(e), 2) from e
    except Refused as e:
        raise fail(str(e), 1) from e
    except (KubeError, sources.SourceError) as e:
        raise fail(str(e), 1) from e
    except KeyboardInterrupt:
        err.print("interrupted; whatever was requested goes on in the controller")
        raise typer.Exit(130) from None


async def app_or_exit(kube: Kube, name: str) -> dict[str, Any]:
    """The Application, or exit 1 with Argo CD's message when there is none."""
    try:
        app = await apps.get_application(kube, name)
    except UnknownKind:
        app = None  # the CRD is not installed: no Application exists yet
    if app is None:
        raise Refused(f"application '{name}' not found (in namespace {apps.APP_NAMESPACE})")
    return app


def print_data(data: Any, output: str) -> None:
    if output == "json":
        typer.echo(json.dumps(data, indent=2))
    else:
        typer.echo(yaml.safe_dump(data, sort_keys=False), nl=False)


def now() -> datetime:
    return datetime.now(UTC)


async def poll(
    kube: Kube,
    name: str,
    done: Callable[[Mapping[str, Any] | None], bool | Awaitable[bool]],
    *,
    timeout: timedelta | None,
    interval: float = 0.5,
) -> Mapping[str, Any] | None:
    """Read the Application until ``done(app)`` (app is None once deleted); raise ``TimeoutError`` after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout.total_seconds()
    while True:
        try:
            app = await apps.get_application(kube, name)
        except UnknownKind:
            app = None
        verdict = done(app)
        if not isinstance(verdict, bool):
            verdict = await verdict
        if verdict:
            return app
        if deadline is not None and loop.time() >= deadline:
            raise TimeoutError
        await asyncio.sleep(interval if deadline is None else max(0.0, min(interval, deadline - loop.time())))
