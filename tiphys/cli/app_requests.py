"""What ``tiphys app sync``, ``rollback`` and ``patch`` send, without I/O: operations and patches.

``sync_operation`` builds the ``operation`` field as Argo CD's API server does (the revision
defaults to the app's target, the retry to ``syncPolicy.retry``); a rollback's is built by
``controller.application.rollback_operation`` for the history id ``history_id`` picks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from tiphys import engine

from .app_spec import CLI_USER, Refused, SpecError, sync_options_of

__all__ = ["history_id", "parse_patch", "sync_operation"]


def parse_patch(text: str, patch_type: str | None) -> tuple[Any, str]:
    """The patch document and its type (``merge`` or ``json``); without a type, a list means JSON patch."""
    try:
        document = json.loads(text)
    except ValueError as e:
        raise SpecError(f"--patch is not valid JSON: {e}") from None
    chosen = patch_type or ("json" if isinstance(document, list) else "merge")
    if chosen not in ("merge", "json"):
        raise SpecError(f"--type {patch_type!r}: choose merge or json")
    if chosen == "json" and not (isinstance(document, list) and all(isinstance(op, dict) for op in document)):
        raise SpecError('a JSON patch (--type json) is a list of operations, like [{"op": "replace", ...}]')
    if chosen == "merge" and not isinstance(document, dict):
        raise SpecError("a merge patch (--type merge) is a JSON object")
    return document, chosen


def sync_operation(
    app: Mapping[str, Any],
    *,
    revision: str = "",
    prune: bool = False,
    dry_run: bool = False,
    sync_options: Sequence[str] = (),
    resources: Sequence[engine.SyncOperationResource] = (),
    username: str = CLI_USER,
) -> dict[str, Any]:
    """The ``operation`` that ``tiphys app sync`` writes, as Argo CD's API server builds it."""
    if revision.startswith("-"):
        raise SpecError(f"--revision {revision!r} starts with '-': refused")
    spec = app.get("spec") or {}
    target = revision or str((spec.get("source") or {}).get("targetRevision") or "")
    sync = engine.SyncOperation(
        revision=target,
        prune=prune,
        dry_run=dry_run,
        sync_options=tuple(sync_options_of(sync_options)),
        resources=tuple(resources),
    )
    return _operation(sync, spec, username)


def _operation(sync: engine.SyncOperation, spec: Mapping[str, Any], username: str) -> dict[str, Any]:
    retry = (spec.get("syncPolicy") or {}).get("retry")
    operation = engine.Operation(sync=sync, initiated_by=engine.OperationInitiator(username=username))
    data = operation.to_json()
    if isinstance(retry, Mapping):
        data["retry"] = dict(retry)  # a manual sync retries as the app's syncPolicy.retry says
    return data


def history_id(app: Mapping[str, Any], deployment_id: int | None) -> int:
    """The history id ``rollback`` returns to: ``deployment_id``, or the entry before the latest."""
    history = [h for h in (app.get("status") or {}).get("history") or [] if isinstance(h, Mapping)]
    name = (app.get("metadata") or {}).get("name")
    if deployment_id is None:
        if len(history) < 2:
            raise Refused(f"Application '{name}' has no previous deployment to roll back to")
        return int(history[-2].get("id") or 0)
    if any(entry.get("id") == deployment_id for entry in history):
        return deployment_id
    raise Refused(f"Application '{name}' does not have deployment id '{deployment_id}' in history")
