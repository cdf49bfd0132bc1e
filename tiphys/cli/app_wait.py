"""``tiphys app wait``: until an Application is Synced, Healthy and/or has no operation running.

The verdict is a pure function of the Application (``wait_verdict``): reached, not yet, or never
by itself — an operation that ran during the wait and ended Failed or Error (automated sync does
not retry a failed revision), or the Application deleted. Exit 0 reached, 1 otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import typer

from tiphys import engine
from tiphys.controller import application as apps
from tiphys.kube import Kube

from .app_common import ContextOpt, KubeconfigOpt, TimeoutOpt, app_or_exit, console, parse_timeout, poll, run
from .app_spec import Refused

__all__ = ["WaitGoal", "register", "wait_verdict"]


@dataclass(frozen=True)
class WaitGoal:
    sync: bool = False
    health: bool = False
    operation: bool = False


def wait_verdict(
    app: Mapping[str, Any] | None, goal: WaitGoal, *, first_started: datetime | None, first_completed: bool
) -> tuple[bool, str]:
    """(reached, failure): whether ``goal`` holds, or why it never will (an operation that failed)."""
    if app is None:
        return False, "the application was deleted"
    status = app.get("status") or {}
    state = apps.operation_state(app)
    in_progress = bool(app.get("operation")) or (state is not None and not state.completed)
    reached = (
        (not goal.sync or (status.get("sync") or {}).get("status") == "Synced")
        and (not goal.health or (status.get("health") or {}).get("status") == "Healthy")
        and (not goal.operation or not in_progress)
    )
    if reached:
        return True, ""
    # An operation that ran during the wait (or was running when it began) and failed: the goal
    # will not come by itself (automated sync does not retry a failed revision).
    if (
        state is not None
        and state.phase in (engine.OperationPhase.FAILED, engine.OperationPhase.ERROR)
        and not app.get("operation")
        and (state.started_at != first_started or not first_completed)
    ):
        return False, f"the operation ended {state.phase.value}: {state.message}"
    return False, ""


def wait(
    name: Annotated[str, typer.Argument(help="The Application's name.")],
    sync_: Annotated[bool, typer.Option("--sync", help="Wait until Synced.")] = False,
    health: Annotated[bool, typer.Option("--health", help="Wait until Healthy.")] = False,
    operation: Annotated[bool, typer.Option("--operation", help="Wait until no operation runs.")] = False,
    timeout: TimeoutOpt = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
) -> None:
    """Wait for an Application to be Synced and/or Healthy (default: both, and no operation running)."""
    limit = parse_timeout(timeout)
    goal = WaitGoal(sync_, health, operation) if (sync_ or health or operation) else WaitGoal(True, True, True)

    async def body(kube: Kube) -> Mapping[str, Any]:
        first = await app_or_exit(kube, name)
        state = apps.operation_state(first)
        started, completed = (state.started_at, state.completed) if state is not None else (None, True)
        failure = [""]
        last: list[Mapping[str, Any] | None] = [first]

        def done(app: Mapping[str, Any] | None) -> bool:
            last[0] = app
            reached, why = wait_verdict(app, goal, first_started=started, first_completed=completed)
            failure[0] = why
            return reached or bool(why)

        try:
            app = await poll(kube, name, done, timeout=limit)
        except TimeoutError:
            raise Refused(f"timed out waiting for '{name}' ({_describe(goal)}); now: {_status_text(last[0])}") from None
        if failure[0]:
            raise Refused(f"application '{name}': {failure[0]}")
        assert app is not None
        return app

    app = run(kubeconfig, context, body)
    status = app.get("status") or {}
    sync_status = (status.get("sync") or {}).get("status", "Unknown")
    health_status = (status.get("health") or {}).get("status", "Unknown")
    console.print(f"application '{name}': {sync_status}, {health_status}", highlight=False)


def _describe(goal: WaitGoal) -> str:
    words = [w for w, on in (("Synced", goal.sync), ("Healthy", goal.health), ("no operation", goal.operation)) if on]
    return ", ".join(words)


def _status_text(app: Mapping[str, Any] | None) -> str:
    status = (app or {}).get("status") or {}
    state = apps.operation_state(app)
    words = [
        str((status.get("sync") or {}).get("status") or "Unknown"),
        str((status.get("health") or {}).get("status") or "Unknown"),
    ]
    if state is not None:
        words.append(f"operation {state.phase.value}")
    return ", ".join(words)


def register(app_cli: typer.Typer) -> None:
    app_cli.command()(wait)
