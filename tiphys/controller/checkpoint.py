"""When a driver must store a step's decisions before running its actions (both drivers: CLI and controller).

Deleting a hook destroys the evidence of its run. A driver killed after such a deletion but
before writing the results that justify it would, on restart, find a "running" hook gone — Argo
CD's "is missing, it might have been deleted" failure — and a retry would run every hook again.
So those steps are written ahead: the results first (still Running), then the deletions.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from tiphys import engine
from tiphys.engine import OperationPhase, OperationState

__all__ = ["provisional", "write_ahead"]

_EVIDENCE: Final = (engine.Purpose.DELETE_HOOK, engine.Purpose.TERMINATE, engine.Purpose.TIMEOUT)


def write_ahead(step: engine.Step) -> bool:
    """Whether the step's decisions must be stored before its actions run: it deletes hooks whose results
    it has just recorded, and a restart that finds them gone without those results would fail the
    operation ("is missing, it might have been deleted") and run the hooks again in a retry."""
    return any(isinstance(a, engine.Delete) and a.purpose in _EVIDENCE for a in step.actions)


def provisional(state: OperationState) -> OperationState:
    """What to store before such a step runs: its results, still Running (the end is recorded after)."""
    if not state.completed:
        return state
    return replace(state, phase=OperationPhase.RUNNING, finished_at=None)
