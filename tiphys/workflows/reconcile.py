"""The workflow controller's pure step: ``validate`` at submit, ``reconcile`` on every event.

Contract (upstream ``operator.go``'s ``operate()``, split at every I/O like ``engine.step``): the
runtime lists the Workflow's pods (label ``workflows.argoproj.io/workflow=<name>``), reads the logs
and resource outcomes a previous step asked for, and calls ``reconcile(workflow, observed, now)``.
The answer says what to write back (the whole Workflow: labels, annotations, ``status``), which
pods to create or delete, which resource-template actions to perform, which pod logs to read for
the next call, and when to call again without an event. All progress lives in ``status.nodes``;
pod names are deterministic from node ids, so a restarted runtime that creates a pod again gets
AlreadyExists, which it ignores. Same input, same output; nothing here does I/O or reads a clock.

Runtime obligations, in order, for one ``Reconciled``:
1. write ``workflow`` back (a normal update of the whole object: the CRD has no status subresource);
2. create ``create_pods`` (AlreadyExists is success) and delete ``delete_pods`` (NotFound is success);
3. perform ``resource_actions`` and pass each outcome as ``Observed.resources[node_id]`` next time
   (``create`` meeting AlreadyExists is a success carrying the existing object; ``delete`` meeting
   NotFound is a success with ``object=None``);
4. read the main container's stdout of every pod in ``needs_logs`` into ``Observed.logs`` (pass
   ``""`` when a log cannot be read, or the node waits for it);
5. call again on any change of the Workflow's pods, at ``requeue_at``, or at once when the step
   asked for logs or resource actions; delete the Workflow when ``delete_workflow``.

Decided details the runtime relies on:
* A node waits in ``Running`` while its pod is terminal but its stdout (``outputs.result``) has not
  been passed in ``Observed.logs``; stdout is read for script templates, and for containers when
  the spec mentions ``result`` or uses expressions (upstream reads it only when referenced).
* Output parameters from files come back in the main container's termination message (see
  ``pods``); the exit code from ``state.terminated.exitCode``.
* A Pending node whose pod was never observed gets its manifest again in ``create_pods`` (a crash
  between the status write and the create); a pod that disappears after being seen is ``pod deleted``.
* A resource node records what it acted on in ``status.nodes[id].resourceRef``; later steps poll it
  with ``ResourceAction(action="get", poll=True)``.
* Suspend nodes are resumed by writing status (``suspend.resume``), ``spec.shutdown`` stops a run
  (``Stop`` lets exit handlers run, ``Terminate`` does not); both are plain updates of the Workflow.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ._operator import operate
from ._validate import validate_workflow
from .world import Observed, Reconciled, ResourceAction, ResourceObservation

__all__ = [
    "Observed",
    "Reconciled",
    "ResourceAction",
    "ResourceObservation",
    "reconcile",
    "validate",
]


def validate(workflow: Mapping[str, Any]) -> list[str]:
    """Submit-time check; upstream-style messages (each starts with ``invalid spec: ``), ``[]`` when valid."""
    return validate_workflow(workflow)


def reconcile(workflow: Mapping[str, Any], observed: Observed, now: datetime) -> Reconciled:
    """One idempotent step of the workflow controller (``now`` must be timezone-aware)."""
    return operate(workflow, observed, now)
