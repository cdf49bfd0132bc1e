"""How Applications look in a terminal: ``app get``'s summary, resource tree and hooks, ``list``, ``history``.

Everything here turns an Application (a dict, as stored) into Rich renderables; nothing talks to a
cluster. Field names and words are Argo CD's (``argocd app get``/``list``/``history``), so a user
of one reads the other. Repository URLs are shown with their credentials masked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from tiphys.controller.application import DEFAULT_SERVER
from tiphys.sources.errors import mask_credentials

__all__ = ["ChildObjects", "app_view", "history_table", "list_table", "operation_lines", "sync_policy"]

#: The live objects below each resource of the app (ReplicaSets and Pods under a Deployment…), by
#: (group, kind, namespace, name) of the parent; each child as (kind, name, health, message).
ChildObjects = Mapping[tuple[str, str, str, str], Sequence["ChildNode"]]

_STYLE = {
    "Synced": "green",
    "OutOfSync": "yellow",
    "Healthy": "green",
    "Progressing": "cyan",
    "Degraded": "red",
    "Missing": "yellow",
    "Suspended": "magenta",
    "Succeeded": "green",
    "Running": "yellow",
    "Failed": "red",
    "Error": "red",
    "Terminating": "magenta",
    "Unknown": "dim",
}


class ChildNode:
    """One live object below an app resource, for the tree (with its own children)."""

    def __init__(self, kind: str, name: str, health: str = "", message: str = "") -> None:
        self.kind, self.name, self.health, self.message = kind, name, health, message
        self.children: list[ChildNode] = []


def _plain(value: Any) -> Any:
    """Strings as Text, so that brackets in names and messages are never read as Rich markup."""
    return Text(value) if isinstance(value, str) else value


def _styled(word: str) -> Text:
    return Text(word, _STYLE.get(word, ""))


def _get(data: Mapping[str, Any] | None, *path: str) -> Any:
    current: Any = data or {}
    for key in path:
        current = current.get(key) if isinstance(current, Mapping) else None
    return current


def _short(revision: str) -> str:
    return revision[:7] if len(revision) == 40 else revision


def _first_line(text: str, width: int = 80) -> str:
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= width else line[: width - 1] + "…"


def sync_policy(app: Mapping[str, Any], *, short: bool = False) -> str:
    automated = _get(app, "spec", "syncPolicy", "automated")
    if not isinstance(automated, Mapping):
        return "<none>" if short else "Manual"
    if short:
        return "Auto-Prune" if automated.get("prune") else "Auto"
    flags = [label for key, label in (("prune", "Prune"), ("selfHeal", "SelfHeal")) if automated.get(key)]
    return "Automated" + (f" ({', '.join(flags)})" if flags else "")


def destination(app: Mapping[str, Any]) -> str:
    dest = _get(app, "spec", "destination") or {}
    return str(dest.get("server") or dest.get("name") or DEFAULT_SERVER)


def _sync_text(app: Mapping[str, Any]) -> Text:
    status = str(_get(app, "status", "sync", "status") or "Unknown")
    target = str(_get(app, "spec", "source", "targetRevision") or "HEAD")
    revision = str(_get(app, "status", "sync", "revision") or "")
    text = Text.assemble(_styled(status), f" to {target}")
    if revision:
        text.append(f" ({_short(revision)})")
    return text


def _health_text(app: Mapping[str, Any]) -> Text:
    status = str(_get(app, "status", "health", "status") or "Unknown")
    message = str(_get(app, "status", "health", "message") or "")
    return Text.assemble(_styled(status), f" ({message})" if message else "")


def _time(value: Any) -> str:
    return str(value).replace("T", " ").replace("Z", " UTC") if value else ""


def _duration(started: Any, finished: Any) -> str:
    try:
        start = datetime.fromisoformat(str(started).replace("Z", "+00:00"))
        end = datetime.fromisoformat(str(finished).replace("Z", "+00:00"))
    except ValueError:
        return ""
    return f"{int((end - start).total_seconds())}s"


def operation_lines(state: Mapping[str, Any] | None) -> list[tuple[str, Any]]:
    """Argo CD's operation block: Operation, Sync Revision, Phase, Start, Finished, Duration, Message."""
    if not isinstance(state, Mapping):
        return []
    lines: list[tuple[str, Any]] = [("Operation:", "Sync")]
    revision = _get(state, "syncResult", "revision")
    if revision:
        lines.append(("Sync Revision:", str(revision)))
    lines.append(("Phase:", _styled(str(state.get("phase") or ""))))
    lines.append(("Start:", _time(state.get("startedAt"))))
    if state.get("finishedAt"):
        lines.append(("Finished:", _time(state.get("finishedAt"))))
        lines.append(("Duration:", _duration(state.get("startedAt"), state.get("finishedAt"))))
    if state.get("message"):
        lines.append(("Message:", str(state["message"])))
    return lines


def _summary(app: Mapping[str, Any]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    meta = app.get("metadata") or {}
    source = _get(app, "spec", "source") or {}
    rows: list[tuple[str, Any]] = [
        ("Name:", f"{meta.get('namespace', '')}/{meta.get('name', '')}"),
        ("Project:", str(_get(app, "spec", "project") or "default")),
        ("Server:", destination(app)),
        ("Namespace:", str(_get(app, "spec", "destination", "namespace") or "")),
        ("Repo:", mask_credentials(str(source.get("repoURL") or ""))),
        ("Target:", str(source.get("targetRevision") or "HEAD")),
        ("Path:", str(source.get("path") or "")),
        ("Sync Policy:", sync_policy(app)),
        ("Sync Status:", _sync_text(app)),
        ("Health Status:", _health_text(app)),
    ]
    if meta.get("deletionTimestamp"):
        rows.append(
            ("Deleting:", f"since {_time(meta['deletionTimestamp'])} ({', '.join(meta.get('finalizers') or [])})")
        )
    for condition in _get(app, "status", "conditions") or []:
        if isinstance(condition, Mapping):
            rows.append(("Condition:", Text(f"{condition.get('type')}: {condition.get('message', '')}", "yellow")))
    rows += operation_lines(_get(app, "status", "operationState"))
    for label, value in rows:
        grid.add_row(label, _plain(value))
    return grid


def _results_by_key(state: Mapping[str, Any] | None) -> dict[tuple[str, str, str, str], str]:
    messages: dict[tuple[str, str, str, str], str] = {}
    for result in _get(state, "syncResult", "resources") or []:
        if isinstance(result, Mapping) and not result.get("hookType"):
            key = (str(result.get("group", "")), str(result.get("kind", "")), str(result.get("namespace", "")))
            messages[(*key, str(result.get("name", "")))] = str(result.get("message") or "")
    return messages


def _add_children(node: Tree, children: Iterable[ChildNode]) -> None:
    for child in children:
        label = Text.assemble((child.kind, "bold"), f" {child.name}  ")
        if child.health:
            label.append_text(_styled(child.health))
        if child.message:
            label.append(f"  {_first_line(child.message, 60)}", "dim")
        _add_children(node.add(label), child.children)


def resource_tree(app: Mapping[str, Any], children: ChildObjects | None = None) -> Tree:
    """The app's resources (``status.resources``) with sync and health, and their live children."""
    name = str(_get(app, "metadata", "name") or "")
    root = Tree(Text.assemble(("Application ", "bold"), name, "  ", _sync_text(app), "  ", _health_text(app)))
    messages = _results_by_key(_get(app, "status", "operationState"))
    resources = [r for r in _get(app, "status", "resources") or [] if isinstance(r, Mapping)]
    if not resources:
        root.add(Text("no resources known yet (the controller has not compared this app)", "dim"))
    for res in resources:
        key = (str(res.get("group", "")), str(res.get("kind", "")), str(res.get("namespace", "")))
        key4 = (*key, str(res.get("name", "")))
        label = Text.assemble((f"{key[0]}/" if key[0] else "", "dim"), (key[1], "bold"), " ")
        label.append(f"{key[2]}/{key4[3]}" if key[2] else key4[3])
        label.append("  ").append_text(_styled(str(res.get("status") or "")))
        health = _get(res, "health", "status")
        if health:
            label.append("  ").append_text(_styled(str(health)))
        if res.get("hook"):
            label.append("  hook", "dim")
        if res.get("requiresPruning"):
            label.append("  requires pruning", "yellow")
        message = str(_get(res, "health", "message") or messages.get(key4, ""))
        if message:
            label.append(f"  {_first_line(message, 70)}", "dim")
        _add_children(root.add(label), (children or {}).get(key4, ()))
    return root


def hooks_table(state: Mapping[str, Any] | None) -> Table | None:
    """The last operation's hooks with their results (None when it ran none)."""
    hooks = [r for r in _get(state, "syncResult", "resources") or [] if isinstance(r, Mapping) and r.get("hookType")]
    if not hooks:
        return None
    table = Table(
        box=None, pad_edge=False, header_style="bold", title="Hooks of the last operation", title_justify="left"
    )
    for column in ("PHASE", "KIND", "NAME", "HOOK PHASE", "MESSAGE"):
        table.add_column(column)
    for hook in hooks:
        name = f"{hook.get('namespace')}/{hook.get('name')}" if hook.get("namespace") else str(hook.get("name"))
        table.add_row(
            *map(
                _plain,
                (
                    str(hook.get("syncPhase") or hook.get("hookType") or ""),
                    str(hook.get("kind") or ""),
                    name,
                    _styled(str(hook.get("hookPhase") or "")),
                    _first_line(str(hook.get("message") or "")),
                ),
            )
        )
    return table


def app_view(app: Mapping[str, Any], children: ChildObjects | None = None) -> RenderableType:
    parts: list[RenderableType] = [_summary(app), Text(""), resource_tree(app, children)]
    hooks = hooks_table(_get(app, "status", "operationState"))
    if hooks is not None:
        parts += [Text(""), hooks]
    return Group(*parts)


def list_table(apps: Iterable[Mapping[str, Any]], *, wide: bool = False) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    columns = ["NAME", "CLUSTER", "NAMESPACE", "PROJECT", "STATUS", "HEALTH", "SYNCPOLICY", "CONDITIONS"]
    if wide:
        columns += ["REPO", "PATH", "TARGET", "REVISION", "OPERATION"]
    for column in columns:
        table.add_column(column)
    for app in apps:
        conditions = ",".join(
            str(c.get("type")) for c in _get(app, "status", "conditions") or [] if isinstance(c, Mapping)
        )
        row: list[Any] = [
            str(_get(app, "metadata", "name") or ""),
            destination(app),
            str(_get(app, "spec", "destination", "namespace") or ""),
            str(_get(app, "spec", "project") or "default"),
            _styled(str(_get(app, "status", "sync", "status") or "Unknown")),
            _styled(str(_get(app, "status", "health", "status") or "Unknown")),
            sync_policy(app, short=True),
            conditions or "<none>",
        ]
        if wide:
            source = _get(app, "spec", "source") or {}
            row += [
                mask_credentials(str(source.get("repoURL") or "")),
                str(source.get("path") or ""),
                str(source.get("targetRevision") or "HEAD"),
                _short(str(_get(app, "status", "sync", "revision") or "")),
                _styled(str(_get(app, "status", "operationState", "phase") or "")),
            ]
        table.add_row(*map(_plain, row))
    return table


def history_table(app: Mapping[str, Any]) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("ID", "DATE", "REVISION", "PATH", "INITIATED BY"):
        table.add_column(column)
    for entry in _get(app, "status", "history") or []:
        if not isinstance(entry, Mapping):
            continue
        source = entry.get("source") or {}
        target = str(source.get("targetRevision") or "HEAD")
        initiated = entry.get("initiatedBy") or {}
        by = "automated" if initiated.get("automated") else str(initiated.get("username") or "")
        table.add_row(
            *map(
                _plain,
                (
                    str(entry.get("id", "")),
                    _time(entry.get("deployedAt")),
                    f"{target} ({_short(str(entry.get('revision') or ''))})",
                    str(source.get("path") or ""),
                    by,
                ),
            )
        )
    return table
