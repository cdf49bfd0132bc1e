"""ControllerRevisions: the template history StatefulSets and DaemonSets roll between.

A revision stores ``{"spec": {"template": {..., "$patch": "replace"}}}`` (upstream's ``getPatch``)
and a number; its name is ``<owner>-<hash>``. Pure helpers build and compare them; the
:func:`sync_revisions` step (with I/O through a :class:`Client`) finds or creates the revision
of the owner's current template, as ``getStatefulSetRevisions``/``constructHistory`` do.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from ..apiserver.errors import StatusError
from ._client import Client
from ._meta import Obj, canonical, controller_ref, fnv32, parse_time, safe_encode

__all__ = ["HASH_LABEL", "REVISIONS", "revision_data", "revision_template", "sync_revisions", "truncate_history"]

REVISIONS = "apps/controllerrevisions"
HASH_LABEL = "controller-revision-hash"
Revision = Mapping[str, Any]


def revision_data(owner: Mapping[str, Any]) -> Obj:
    template = copy.deepcopy(dict((owner.get("spec") or {}).get("template") or {}))
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def revision_template(revision: Revision) -> Obj:
    template = copy.deepcopy(dict(((revision.get("data") or {}).get("spec") or {}).get("template") or {}))
    template.pop("$patch", None)
    return template


def revision_hash(data: Mapping[str, Any], collision_count: int | None) -> str:
    """``HashControllerRevision``: FNV-32 of the data, then the collision count as decimal text."""
    raw = canonical(data)
    if collision_count is not None:
        raw += str(collision_count).encode()
    return safe_encode(str(fnv32(raw)))


def _order(revision: Revision) -> tuple[int, float, str]:
    created = parse_time(revision["metadata"].get("creationTimestamp"))
    return (int(revision.get("revision") or 0), created.timestamp() if created else 0.0, revision["metadata"]["name"])


def sorted_revisions(revisions: Sequence[Revision]) -> list[Revision]:
    return sorted(revisions, key=_order)


def new_revision(owner: Mapping[str, Any], number: int, collision_count: int, *, hash_from: str | None = None) -> Obj:
    """``NewControllerRevision``: the owner's template labels, plus the hash label, owned by it."""
    data = revision_data(owner)
    digest = hash_from or revision_hash(data, collision_count)
    labels = dict((((owner.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {})
    labels[HASH_LABEL] = digest
    meta: Obj = {
        "name": f"{owner['metadata']['name']}-{digest}",
        "labels": labels,
        "ownerReferences": [controller_ref(owner)],
    }
    if owner["metadata"].get("annotations"):
        meta["annotations"] = dict(owner["metadata"]["annotations"])
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": meta, "data": data, "revision": number}


def sync_revisions(
    client: Client, owner: Mapping[str, Any], revisions: Sequence[Revision], *, hash_from: str | None = None
) -> tuple[Revision, int]:
    """The revision of ``owner``'s template (reused, renumbered for a rollback, or created); and the collision count.

    ``hash_from``: DaemonSets name revisions by their template hash rather than the data hash.
    """
    ordered = sorted_revisions(revisions)
    collision = int((owner.get("status") or {}).get("collisionCount") or 0)
    number = (int(ordered[-1].get("revision") or 0) if ordered else 0) + 1
    data = revision_data(owner)
    equal = [r for r in ordered if r.get("data") == data]
    if equal and ordered[-1] is equal[-1]:
        return ordered[-1], collision
    if equal:
        body = copy.deepcopy(dict(equal[-1]))
        body["revision"] = number
        return client.update(REVISIONS, body), collision
    namespace = owner["metadata"].get("namespace", "")
    while True:
        body = new_revision(owner, number, collision, hash_from=hash_from)
        try:
            return client.create(REVISIONS, namespace, body), collision
        except StatusError as exc:
            if exc.code != 409 or hash_from is not None:
                raise
            existing = client.get(REVISIONS, namespace, body["metadata"]["name"])
            if existing is not None and existing.get("data") == data:
                return existing, collision
            collision += 1


def truncate_history(
    client: Client, owner: Mapping[str, Any], revisions: Sequence[Revision], live: set[str], keep: set[str]
) -> None:
    """Delete the oldest revisions no pod uses beyond ``revisionHistoryLimit`` (``keep``: current, update)."""
    limit = int((owner.get("spec") or {}).get("revisionHistoryLimit", 10))
    idle = [r for r in sorted_revisions(revisions) if r["metadata"]["name"] not in live | keep]
    for revision in idle[: max(len(idle) - limit, 0)]:
        client.delete(REVISIONS, revision)
