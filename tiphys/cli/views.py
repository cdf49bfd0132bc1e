"""How a sync looks in a terminal: live progress by phase and wave, the final results, the dry-run plan.

Everything here turns engine data (steps, tasks, results, diffs) into Rich renderables; nothing
talks to a cluster. A message shown in a table is its first line; the full text (with hook logs)
is in ``-o json``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import groupby

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from tiphys.controller.differ import AppDiff
from tiphys.engine import (
    HookDeletePolicy,
    OperationPhase,
    OperationState,
    ResultCode,
    Step,
    SyncTask,
    compare,
)

__all__ = ["ProgressView", "plan_table", "results_table", "state_line"]

_STATE_STYLE = {
    OperationPhase.SUCCEEDED: "green",
    OperationPhase.RUNNING: "yellow",
    OperationPhase.FAILED: "red",
    OperationPhase.ERROR: "red",
    OperationPhase.TERMINATING: "magenta",
}


def _first_line(text: str, width: int = 90) -> str:
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= width else line[: width - 1] + "…"


def state_line(state: OperationState) -> Text:
    style = _STATE_STYLE.get(state.phase, "")
    return Text.assemble((state.phase.value, f"bold {style}"), ": ", state.message or "")


def _task_state(task: SyncTask, waiting: set[str]) -> Text:
    if task.result_key in waiting:
        return Text("waiting", "yellow")
    if task.operation_state is None:
        if task.sync_status is ResultCode.SYNC_FAILED:
            return Text("failed", "red")
        return Text("pending", "dim")
    return Text(task.operation_state.value, _STATE_STYLE.get(task.operation_state, ""))


def _name(task: SyncTask) -> str:
    return f"{task.namespace}/{task.name}" if task.namespace else task.name


class ProgressView:
    """The plan as phases and waves, each task's state, and what the sync waits for; updated per step."""

    def __init__(self) -> None:
        self.step: Step | None = None

    def update(self, step: Step) -> None:
        self.step = step

    def __rich__(self) -> RenderableType:
        if self.step is None:
            return Text("validating…", "dim")
        step = self.step
        waiting = {t.result_key for t in step.waiting_for}
        table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
        for column in ("phase", "wave", "kind", "name", "state", "message"):
            table.add_column(column)
        for (phase, wave), tasks in groupby(step.tasks, key=lambda t: (t.phase, t.wave)):
            first = True
            for task in tasks:
                table.add_row(
                    phase.value if first else "",
                    str(wave) if first else "",
                    task.kind + (" (hook)" if task.is_hook else ""),
                    _name(task) + (" (prune)" if task.is_prune else ""),
                    _task_state(task, waiting),
                    _first_line(task.message, 70),
                )
                first = False
        return Group(state_line(step.state), table)


def results_table(state: OperationState) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("phase", "kind", "name", "status", "hook", "message"):
        table.add_column(column)
    for result in state.results:
        name = f"{result.namespace}/{result.name}" if result.namespace else result.name
        table.add_row(
            result.sync_phase.value if result.sync_phase else "",
            result.kind,
            name,
            result.status.value if result.status else "",
            result.hook_phase.value if result.hook_phase else "",
            _first_line(result.message),
        )
    return table


def _plan_action(task: SyncTask, modified: Mapping[str, bool]) -> str:
    if task.is_prune:
        return "prune"
    if task.is_hook:
        policies = set(task.delete_policies)
        actions = [
            "run (re-created: the old one is deleted first)"
            if task.live is not None and HookDeletePolicy.BEFORE_HOOK_CREATION in policies
            else "run"
        ]
        if HookDeletePolicy.HOOK_SUCCEEDED in policies:
            actions.append("deleted if the sync succeeds")
        if HookDeletePolicy.HOOK_FAILED in policies:
            actions.append("deleted if the sync fails")
        return ", ".join(actions)
    if task.live is None:
        return "create"
    return "update" if modified.get(task.result_key, True) else "unchanged"


def plan_table(tasks: Sequence[SyncTask], results: OperationState | None = None) -> Table:
    """The dry-run plan: each task in order with what the sync would do to it."""
    modified = {
        t.result_key: compare(t.target, t.live).modified for t in tasks if t.target is not None and t.live is not None
    }
    recorded = {r.key: r for r in (results.results if results is not None else ())}
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("phase", "wave", "kind", "name", "action", "dry run"):
        table.add_column(column)
    for task in tasks:
        result = recorded.get(task.result_key)
        table.add_row(
            task.phase.value,
            str(task.wave),
            task.kind + (" (hook)" if task.is_hook else ""),
            _name(task),
            _plan_action(task, modified),
            _first_line(result.message if result is not None else "", 60),
        )
    return table


def warnings_text(warnings: Iterable[str]) -> Text:
    text = Text()
    for warning in warnings:
        text.append("warning: ", "yellow bold").append(warning + "\n")
    return text


def print_diff(found: AppDiff, out: Console) -> bool:
    """``tiphys diff`` and ``tiphys app diff``: each changed object's unified diff, then what would be pruned."""
    for _, text in found.changed:
        out.print(text, highlight=False, markup=False)
    for label in found.pruned:
        out.print(f"would be pruned: {label}", highlight=False, markup=False)
    return found.different


def print_invalid(problems: Iterable[str], out: Console) -> None:
    """The problems that make a revision invalid, one line each (then exit 2)."""
    for problem in problems:
        out.print(f"[red]invalid:[/red] {problem}", highlight=False)
