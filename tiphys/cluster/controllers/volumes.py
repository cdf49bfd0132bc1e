"""Persistent volumes: claims bound to local directories, as a local-path provisioner would.

A claim without ``storageClassName`` gets the default class at creation (admission, like
upstream's DefaultStorageClass plugin; the class ``standard`` is created at start). A pending
claim binds to a matching Available volume, or, when its class is provisioned by
``tiphys.io/local-path``, to a new ``pvc-<claim uid>`` volume backed by a directory under the
cluster's data dir; both end up ``Bound`` with upstream's annotations. A claim whose volume
is gone is ``Lost``; a volume whose claim is gone is ``Released`` and, with reclaim policy
Delete, deleted with its directory. The protection finalizers hold a claim while a scheduled
pod uses it and a volume while it is bound.
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Hashable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..apiserver.errors import StatusError
from ..apiserver.objects import ObjectAPI
from ..apiserver.resources import ResourceType
from ..apiserver.store import DELETED, Event
from ._client import Client
from ._meta import Obj, format_time, selector_matches
from ._pods import is_terminal
from .base import Controller

__all__ = ["PROVISIONER", "VolumeController", "matches", "quantity"]

CLAIMS, VOLUMES, CLASSES, PODS = (
    "/persistentvolumeclaims",
    "/persistentvolumes",
    "storage.k8s.io/storageclasses",
    "/pods",
)
PROVISIONER = "tiphys.io/local-path"
DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
CLAIM_PROTECTION, VOLUME_PROTECTION = "kubernetes.io/pvc-protection", "kubernetes.io/pv-protection"
NODE = "tiphys-local"
_SUFFIXES = {
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
    "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18, "m": 10**-3,
}  # fmt: skip


def quantity(value: Any) -> float:
    """A resource quantity (``1Gi``, ``500M``, ``1e3``) in base units; unparsable counts as 0."""
    text = str(value or "0").strip()
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if text.endswith(suffix):
            try:
                return float(text[: -len(suffix)]) * _SUFFIXES[suffix]
            except ValueError:
                return 0.0
    try:
        return float(text)
    except ValueError:
        return 0.0


def _class_of(obj: Mapping[str, Any]) -> str:
    return str((obj.get("spec") or {}).get("storageClassName") or "")


def matches(claim: Mapping[str, Any], volume: Mapping[str, Any]) -> bool:
    """Could ``volume`` (Available, or reserved for this claim) satisfy ``claim``?"""
    cspec, vspec = claim.get("spec") or {}, volume.get("spec") or {}
    ref = vspec.get("claimRef")
    meta = claim["metadata"]
    if ref and (ref.get("namespace"), ref.get("name")) != (meta.get("namespace"), meta["name"]):
        return False
    if ref and ref.get("uid") and ref["uid"] != meta.get("uid"):
        return False
    if not ref and (volume.get("status") or {}).get("phase") not in (None, "Available", "Pending"):
        return False
    if _class_of(claim) != _class_of(volume) or volume["metadata"].get("deletionTimestamp"):
        return False
    if cspec.get("volumeMode", "Filesystem") != vspec.get("volumeMode", "Filesystem"):
        return False
    if not set(cspec.get("accessModes") or ()) <= set(vspec.get("accessModes") or ()):
        return False
    if cspec.get("selector") is not None and not selector_matches(cspec["selector"], volume["metadata"].get("labels")):
        return False
    wanted = quantity(((cspec.get("resources") or {}).get("requests") or {}).get("storage"))
    return quantity((vspec.get("capacity") or {}).get("storage")) >= wanted


class VolumeController(Controller):
    name = "persistentvolume"
    keys = (CLAIMS, VOLUMES, CLASSES, PODS)

    def __init__(self, api: ObjectAPI, *, root: Path | None = None) -> None:
        super().__init__(api)
        self.client = Client(api, "persistentvolume-controller")
        self.provisioner = Client(api, PROVISIONER)
        self.root = root or api.store.path.parent / "volumes"
        api.admission.append(self.admit)

    def admit(self, rt: ResourceType, obj: Obj, old: Mapping[str, Any] | None) -> None:
        """On create: the default class for a claim that names none; the protection finalizers."""
        if old is not None or rt.key not in (CLAIMS, VOLUMES):
            return
        finalizers = obj["metadata"].setdefault("finalizers", [])
        protection = CLAIM_PROTECTION if rt.key == CLAIMS else VOLUME_PROTECTION
        if protection not in finalizers:
            finalizers.append(protection)
        spec = obj.setdefault("spec", {})
        if rt.key == CLAIMS and "storageClassName" not in spec:
            defaults = [
                c
                for c in self.client.objects(CLASSES)
                if (c["metadata"].get("annotations") or {}).get(DEFAULT_CLASS) == "true"
            ]
            if defaults:
                newest = max(
                    defaults, key=lambda c: (c["metadata"].get("creationTimestamp", ""), c["metadata"]["name"])
                )
                spec["storageClassName"] = newest["metadata"]["name"]

    def resync(self) -> None:
        if not self.client.objects(CLASSES):
            self.client.create(
                CLASSES,
                "",
                {
                    "apiVersion": "storage.k8s.io/v1",
                    "kind": "StorageClass",
                    "metadata": {"name": "standard", "annotations": {DEFAULT_CLASS: "true"}},
                    "provisioner": PROVISIONER,
                    "reclaimPolicy": "Delete",
                    "volumeBindingMode": "Immediate",
                },
            )
        for claim in self.client.objects(CLAIMS):
            self.enqueue(("claim", claim["metadata"].get("namespace", ""), claim["metadata"]["name"]))
        for volume in self.client.objects(VOLUMES):
            self.enqueue(("volume", "", volume["metadata"]["name"]))

    def on_event(self, event: Event) -> list[Hashable]:
        obj = event.entry.obj
        if event.key == CLAIMS:
            keys: list[Hashable] = [("claim", event.namespace, obj["metadata"]["name"])]
            volume = (obj.get("spec") or {}).get("volumeName")
            return [*keys, ("volume", "", volume)] if volume else keys
        if event.key == VOLUMES:
            keys = [] if event.type == DELETED else [("volume", "", obj["metadata"]["name"])]
            ref = (obj.get("spec") or {}).get("claimRef")
            return [*keys, ("claim", ref.get("namespace", ""), ref.get("name", ""))] if ref else keys
        if event.key == CLASSES:
            return [
                ("claim", c["metadata"].get("namespace", ""), c["metadata"]["name"])
                for c in self.client.objects(CLAIMS)
                if (c.get("status") or {}).get("phase") == "Pending"
            ]
        if event.key == PODS and (event.type == DELETED or is_terminal(obj)):
            return [
                ("claim", event.namespace, v["persistentVolumeClaim"].get("claimName", ""))
                for v in (obj.get("spec") or {}).get("volumes") or ()
                if v.get("persistentVolumeClaim")
            ]
        return []

    def reconcile(self, key: Hashable) -> None:
        assert isinstance(key, tuple)
        kind, namespace, name = key
        if kind == "volume":
            self._sync_volume(name)
        else:
            self._sync_claim(namespace, name)

    # Claims --------------------------------------------------------------------------------

    def _sync_claim(self, namespace: str, name: str) -> None:
        claim = self.client.get(CLAIMS, namespace, name)
        if claim is None:
            return
        if claim["metadata"].get("deletionTimestamp"):
            if not self._in_use(claim):
                self.client.remove_finalizers(CLAIMS, claim, [CLAIM_PROTECTION])
            return
        spec = claim.get("spec") or {}
        if spec.get("volumeName"):
            volume = self.client.get(VOLUMES, "", spec["volumeName"])
            if volume is None:
                if (claim.get("status") or {}).get("phase") == "Bound":
                    self._claim_status(claim, {"phase": "Lost"})
                    self.client.event(
                        claim,
                        "ClaimLost",
                        "Bound claim has lost its PersistentVolume. Data on the volume is lost!",
                        warning=True,
                    )
                return
            if (
                matches(claim, volume)
                or ((volume.get("spec") or {}).get("claimRef") or {}).get("uid") == claim["metadata"]["uid"]
            ):
                self._bind(claim, volume)
            return
        candidates = [v for v in self.client.objects(VOLUMES) if matches(claim, v)]
        if candidates:
            best = min(candidates, key=lambda v: quantity(((v.get("spec") or {}).get("capacity") or {}).get("storage")))
            self._bind(claim, best)
            return
        self._claim_status(claim, {"phase": "Pending"})
        class_name = _class_of(claim)
        if not class_name:
            return
        storage_class = self.client.get(CLASSES, "", class_name)
        if storage_class is None:
            self.client.event(
                claim, "ProvisioningFailed", f'storageclass.storage.k8s.io "{class_name}" not found', warning=True
            )
            return
        if storage_class.get("provisioner") != PROVISIONER:
            provisioner = storage_class.get("provisioner")
            message = (
                f"Waiting for a volume to be created either by the external provisioner '{provisioner}' "
                "or manually by the system administrator. If volume creation is delayed, please verify that the "
                "provisioner is running and correctly registered."
            )
            self.client.event(claim, "ExternalProvisioning", message)
            return
        self._provision(claim, storage_class)

    def _in_use(self, claim: Mapping[str, Any]) -> bool:
        name = claim["metadata"]["name"]
        for pod in self.client.objects(PODS, claim["metadata"].get("namespace", "")):
            if not (pod.get("spec") or {}).get("nodeName") or is_terminal(pod):
                continue
            for volume in (pod.get("spec") or {}).get("volumes") or ():
                if (volume.get("persistentVolumeClaim") or {}).get("claimName") == name:
                    return True
        return False

    def _provision(self, claim: Mapping[str, Any], storage_class: Mapping[str, Any]) -> None:
        meta = claim["metadata"]
        spec = claim.get("spec") or {}
        annotations = meta.get("annotations") or {}
        if annotations.get("volume.kubernetes.io/storage-provisioner") != PROVISIONER:
            body = copy.deepcopy(dict(claim))
            body["metadata"].setdefault("annotations", {}).update(
                {
                    "volume.beta.kubernetes.io/storage-provisioner": PROVISIONER,
                    "volume.kubernetes.io/storage-provisioner": PROVISIONER,
                }
            )
            claim = self.client.update(CLAIMS, body)
        pv_name = f"pvc-{meta['uid']}"
        self.provisioner.event(
            claim,
            "Provisioning",
            f'External provisioner is provisioning volume for claim "{meta.get("namespace")}/{meta["name"]}"',
        )
        path = self.root / pv_name
        path.mkdir(parents=True, exist_ok=True)
        volume: Obj = {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": pv_name, "annotations": {"pv.kubernetes.io/provisioned-by": PROVISIONER}},
            "spec": {
                "accessModes": list(spec.get("accessModes") or ["ReadWriteOnce"]),
                "capacity": {"storage": ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")},
                "claimRef": self._claim_ref(claim),
                "hostPath": {"path": str(path), "type": "DirectoryOrCreate"},
                "nodeAffinity": {
                    "required": {
                        "nodeSelectorTerms": [
                            {
                                "matchExpressions": [
                                    {"key": "kubernetes.io/hostname", "operator": "In", "values": [NODE]}
                                ]
                            }
                        ]
                    }
                },
                "persistentVolumeReclaimPolicy": storage_class.get("reclaimPolicy", "Delete"),
                "storageClassName": storage_class["metadata"]["name"],
                "volumeMode": spec.get("volumeMode", "Filesystem"),
            },
        }
        try:
            created = self.client.create(VOLUMES, "", volume)
        except StatusError as exc:
            if exc.code != 409:
                raise
            existing = self.client.get(VOLUMES, "", pv_name)
            if existing is None:
                raise
            created = dict(existing)
        self.provisioner.event(claim, "ProvisioningSucceeded", f"Successfully provisioned volume {pv_name}")
        self._bind(claim, created)

    def _claim_ref(self, claim: Mapping[str, Any]) -> Obj:
        meta = claim["metadata"]
        return {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "name": meta["name"],
            "namespace": meta.get("namespace", ""),
            "resourceVersion": meta.get("resourceVersion", ""),
            "uid": meta["uid"],
        }

    def _bind(self, claim: Mapping[str, Any], volume: Mapping[str, Any]) -> None:
        """``bind``: the volume's claimRef and phase, then the claim's volumeName, annotations and phase."""
        vname = volume["metadata"]["name"]
        if ((volume.get("spec") or {}).get("claimRef") or {}).get("uid") != claim["metadata"]["uid"]:
            body = copy.deepcopy(dict(volume))
            body["spec"]["claimRef"] = self._claim_ref(claim)
            body["metadata"].setdefault("annotations", {})["pv.kubernetes.io/bound-by-controller"] = "yes"
            volume = self.client.update(VOLUMES, body)
        self._volume_status(volume, "Bound")
        cmeta = claim["metadata"]
        wanted = {"pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes"}
        if (claim.get("spec") or {}).get("volumeName") != vname or any(
            (cmeta.get("annotations") or {}).get(k) != v for k, v in wanted.items()
        ):
            body = copy.deepcopy(dict(claim))
            body["spec"]["volumeName"] = vname
            body["metadata"].setdefault("annotations", {}).update(wanted)
            claim = self.client.update(CLAIMS, body)
        vspec = volume.get("spec") or {}
        status = {
            "phase": "Bound",
            "accessModes": list(vspec.get("accessModes") or []),
            "capacity": dict(vspec.get("capacity") or {}),
        }
        self._claim_status(claim, status)

    def _claim_status(self, claim: Mapping[str, Any], status: Obj) -> None:
        if (claim.get("status") or {}) != status:
            fresh = self.client.get(CLAIMS, claim["metadata"].get("namespace", ""), claim["metadata"]["name"]) or claim
            self.client.update_status(CLAIMS, fresh, status)

    # Volumes -------------------------------------------------------------------------------

    def _volume_status(self, volume: Mapping[str, Any], phase: str) -> None:
        current = volume.get("status") or {}
        if current.get("phase") == phase:
            return
        status = {"phase": phase, "lastPhaseTransitionTime": format_time(datetime.now(UTC))}
        fresh = self.client.get(VOLUMES, "", volume["metadata"]["name"]) or volume
        self.client.update_status(VOLUMES, fresh, status)

    def _sync_volume(self, name: str) -> None:
        volume = self.client.get(VOLUMES, "", name)
        if volume is None:
            return
        spec = volume.get("spec") or {}
        ref = spec.get("claimRef")
        claim = self.client.get(CLAIMS, ref.get("namespace", ""), ref.get("name", "")) if ref else None
        bound = claim is not None and ref is not None and (not ref.get("uid") or claim["metadata"]["uid"] == ref["uid"])
        if volume["metadata"].get("deletionTimestamp"):
            if not bound or (volume.get("status") or {}).get("phase") != "Bound":
                self.client.remove_finalizers(VOLUMES, volume, [VOLUME_PROTECTION])
            return
        if ref is None:
            self._volume_status(volume, "Available")
        elif bound:
            if claim is not None and (claim.get("spec") or {}).get("volumeName") in (None, "", name):
                self._volume_status(volume, "Bound")
        else:
            self._volume_status(volume, "Released")
            if spec.get("persistentVolumeReclaimPolicy", "Retain") == "Delete":
                self._reclaim(volume)

    def _reclaim(self, volume: Mapping[str, Any]) -> None:
        path = Path(((volume.get("spec") or {}).get("hostPath") or {}).get("path") or "")
        if path.is_relative_to(self.root) and path != self.root:
            shutil.rmtree(path, ignore_errors=True)
        fresh = self.client.get(VOLUMES, "", volume["metadata"]["name"])
        if fresh is not None and self.client.delete(VOLUMES, fresh):
            self.client.remove_finalizers(VOLUMES, fresh, [VOLUME_PROTECTION])
