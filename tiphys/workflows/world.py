"""The values a reconcile step reads and returns (the runtime's side of the contract)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["Observed", "Reconciled", "ResourceAction", "ResourceObservation"]


@dataclass(frozen=True)
class ResourceObservation:
    """What the runtime saw when it performed (or polled) a node's resource action."""

    object: Mapping[str, Any] | None = None
    """The live object after the action (``None`` after a delete or a poll that found nothing)."""
    error: str | None = None
    """The API error's message when the action failed; the node fails with it."""


@dataclass(frozen=True)
class ResourceAction:
    """One resource-template action (spec §2 ``resource``) for the runtime to perform."""

    node_id: str
    action: str
    """``get``, ``create``, ``apply``, ``delete``, ``replace`` or ``patch`` (a poll is ``get``)."""
    manifest: dict[str, Any]
    """The substituted object; ``metadata.namespace`` is always set."""
    merge_strategy: str = "strategic"
    """For ``patch``: ``strategic``, ``merge`` or ``json`` (the manifest then holds ``{"patch": [...]}``)."""
    set_owner_reference: bool = False
    """Add an ownerReference to the Workflow (``owner_reference`` below) before writing."""
    owner_reference: dict[str, Any] = field(default_factory=dict)
    flags: tuple[str, ...] = ()
    """kubectl-style flags as written in the template, recorded for the runtime (e.g. ``--validate=false``)."""
    poll: bool = False
    """True when the action was already performed and only the object's conditions are awaited."""


@dataclass(frozen=True)
class Observed:
    """The world as the runtime saw it just before this step."""

    pods: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Pod name -> live Pod object, only this workflow's pods."""
    logs: Mapping[str, str] = field(default_factory=dict)
    """Pod name -> main container stdout, for the terminal pods a previous step listed in ``needs_logs``."""
    resources: Mapping[str, ResourceObservation] = field(default_factory=dict)
    """Node id -> outcome of the resource action a previous step asked for."""


@dataclass(frozen=True)
class Reconciled:
    """One step's answer: what to write, create, delete, perform and read next."""

    workflow: dict[str, Any]
    """The whole Workflow object to write back (labels, annotations and status)."""
    create_pods: list[dict[str, Any]] = field(default_factory=list)
    """Full Pod manifests (upstream v2 names, labels, annotations, ownerReference to the Workflow)."""
    delete_pods: list[str] = field(default_factory=list)
    """Pod names to delete (deadline, shutdown, podGC)."""
    resource_actions: list[ResourceAction] = field(default_factory=list)
    needs_logs: list[str] = field(default_factory=list)
    """Terminal pods whose main-container stdout the runtime must pass in ``Observed.logs`` next time."""
    requeue_at: datetime | None = None
    """Reconcile again at this time even without an event (retry backoff, deadlines, suspend, TTL)."""
    delete_workflow: bool = False
    """``ttlStrategy`` expired: delete the Workflow object (its pods go with it by ownerReference)."""

    @property
    def changed(self) -> bool:
        """True when this step asks the runtime to do anything besides writing the workflow."""
        return bool(self.create_pods or self.delete_pods or self.resource_actions or self.needs_logs)
