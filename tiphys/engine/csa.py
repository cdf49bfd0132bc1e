"""Client-side to server-side apply migration of managed fields (Kubernetes' ``csaupgrade``, spec §11).

An object written by client-side apply has its fields owned by ``kubectl-client-side-apply``
with operation ``Update``. When Argo CD first server-side applies it, it hands those fields to
its own ``Apply`` entry (``argocd-controller``), so that a field later removed from Git is
removed from the object rather than kept forever by the old manager. ``upgraded`` computes the
new ``managedFields``: the client-side entry's field set merged into the server-side one (or
renamed into it when there is none), the last-applied annotation left out; None when there is
nothing to migrate. Sync option ``ClientSideApplyMigration=false`` turns it off.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, Final

from .diff import LAST_APPLIED

__all__ = ["upgraded"]

_LAST_APPLIED_FIELD: Final = ("f:metadata", "f:annotations", f"f:{LAST_APPLIED}")


def _is(entry: Mapping[str, Any], manager: str, operation: str) -> bool:
    return entry.get("manager") == manager and entry.get("operation") == operation and not entry.get("subresource")


def _union(into: dict[str, Any], other: Mapping[str, Any]) -> None:
    for key, value in other.items():
        if key in into and isinstance(into[key], dict) and isinstance(value, Mapping):
            _union(into[key], value)
        else:
            into[key] = copy.deepcopy(value) if isinstance(value, Mapping) else value


def _without(fields: dict[str, Any], path: Sequence[str]) -> None:
    """Remove one field, and the parents it leaves empty."""
    head, rest = path[0], path[1:]
    inner = fields.get(head)
    if not isinstance(inner, dict):
        return
    if rest:
        _without(inner, rest)
        if not inner:
            del fields[head]
    else:
        del fields[head]


def upgraded(
    managed: Sequence[Mapping[str, Any]], *, csa_manager: str, ssa_manager: str
) -> list[dict[str, Any]] | None:
    """``managedFields`` with ``csa_manager``'s Update entry folded into ``ssa_manager``'s Apply entry."""
    entries = [dict(e) for e in managed if isinstance(e, Mapping)]
    csa = next((e for e in entries if _is(e, csa_manager, "Update")), None)
    if csa is None:
        return None
    ssa = next((e for e in entries if _is(e, ssa_manager, "Apply")), None)
    fields: dict[str, Any] = copy.deepcopy(dict(ssa.get("fieldsV1") or {})) if ssa is not None else {}
    _union(fields, csa.get("fieldsV1") or {})
    _without(fields, _LAST_APPLIED_FIELD)
    result = []
    for entry in entries:
        if entry is csa:
            if ssa is None:  # the client-side entry becomes the server-side one, in its place
                result.append({**entry, "manager": ssa_manager, "operation": "Apply", "fieldsV1": fields})
        elif entry is ssa:
            result.append({**entry, "fieldsV1": fields})
        else:
            result.append(entry)
    return result
