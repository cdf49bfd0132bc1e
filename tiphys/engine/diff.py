"""Desired against live: would applying the manifest change anything, and what (Argo CD's three-way diff).

``compare(desired, live)`` predicts the live object after a client-side apply (the manifest
merged into the live object with the last applied configuration as the common ancestor, see
``merge``) and compares that prediction with the live object. Whatever only the server writes —
defaults, ``status``, ``managedFields``, ``resourceVersion``, ``uid``, timestamps, the
last-applied annotation itself — is kept from the live object on both sides, so it never shows as
a difference. Secrets are compared for real but shown masked the way Argo CD masks them:
``++++++++`` for a value, four more ``+`` for each different value of the same key, so a change is
visible while no value ever leaves this module.
"""

from __future__ import annotations

import base64
import copy
import difflib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import yaml

from . import merge, objects, schema
from .ignore import IgnoreRule, ignored_paths, strip
from .objects import KubeObject

__all__ = ["LAST_APPLIED", "DiffResult", "compare", "last_applied", "normalize", "with_last_applied"]

LAST_APPLIED: Final = "kubectl.kubernetes.io/last-applied-configuration"
_SERVER_METADATA: Final = (
    "managedFields",
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "selfLink",
)
_FIRST_MASK: Final = "++++++++"


@dataclass(frozen=True)
class DiffResult:
    modified: bool
    live: dict[str, Any] | None = field(repr=False)
    """The live object, normalized and masked (None when it does not exist)."""
    predicted: dict[str, Any] = field(repr=False)
    """The live object as it would be after the apply, normalized and masked."""

    def unified(self, label: str = "") -> str:
        """A unified diff of the two as YAML: empty when nothing changes."""
        before = _yaml(self.live) if self.live is not None else []
        after = _yaml(self.predicted)
        lines = difflib.unified_diff(before, after, f"live/{label}", f"desired/{label}", lineterm="")
        return "\n".join(lines)


def _yaml(obj: Mapping[str, Any]) -> list[str]:
    return yaml.safe_dump(obj, sort_keys=True, default_flow_style=False).splitlines()


def last_applied(live: KubeObject) -> dict[str, Any] | None:
    """The configuration ``kubectl apply`` recorded on the live object, or None."""
    text = objects.annotations_of(live).get(LAST_APPLIED)
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def with_last_applied(desired: KubeObject) -> dict[str, Any]:
    """``desired`` carrying itself in the last-applied annotation, as ``kubectl apply`` sends it."""
    config = _without_last_applied(desired)
    recorded = json.dumps(config, separators=(",", ":"), sort_keys=True)
    result = copy.deepcopy(dict(config))
    metadata = result.setdefault("metadata", {})
    metadata["annotations"] = {**(metadata.get("annotations") or {}), LAST_APPLIED: recorded}
    return result


def _without_last_applied(obj: KubeObject) -> dict[str, Any]:
    result = copy.deepcopy(dict(obj))
    annotations = (result.get("metadata") or {}).get("annotations")
    if isinstance(annotations, dict) and LAST_APPLIED in annotations:
        del annotations[LAST_APPLIED]
        if not annotations:
            del result["metadata"]["annotations"]
    return result


def _secret_data(obj: dict[str, Any]) -> dict[str, Any]:
    """A Secret's ``stringData`` folded into ``data`` (base64), as the API server stores it."""
    if objects.kind(obj) != "Secret" or objects.api_group(obj) != "":
        return obj
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, Mapping):
        data = obj.setdefault("data", {}) or {}
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        obj["data"] = data
    return obj


def normalize(obj: KubeObject) -> dict[str, Any]:
    """The object without what only the server writes (status, managedFields, versions, the last-applied annotation)."""
    result = _secret_data(_without_last_applied(obj))
    result.pop("status", None)
    metadata = result.get("metadata")
    if isinstance(metadata, dict):
        for key in _SERVER_METADATA:
            metadata.pop(key, None)
    return result


def _mask(*objs: dict[str, Any] | None) -> None:
    """Argo CD's ``hide``: each distinct value of one key gets its own run of ``+``, in place."""
    present = [o for o in objs if o is not None and objects.kind(o) == "Secret"]
    keys: list[str] = []
    for obj in present:
        data = obj.get("data")
        keys += [k for k in (data if isinstance(data, Mapping) else {}) if k not in keys]
    for key in keys:
        replacements: dict[str, str] = {}
        for obj in present:
            data = obj.get("data")
            if isinstance(data, dict) and key in data:
                value = str(data[key])
                if value not in replacements:
                    replacements[value] = _FIRST_MASK + "++++" * len(replacements)
                data[key] = replacements[value]


def compare(desired: KubeObject, live: KubeObject | None, *, ignore: Sequence[IgnoreRule] = ()) -> DiffResult:
    """Whether applying ``desired`` would change ``live``, with both sides ready to show.

    Fields the ``ignore`` rules name (``spec.ignoreDifferences``) are left out of both sides.
    """
    target = _secret_data(_without_last_applied(desired))
    if live is None:
        predicted = normalize(target)
        _mask(predicted)
        return DiffResult(True, None, predicted)
    current = _secret_data(copy.deepcopy(dict(live)))
    original = last_applied(live)
    if original is not None:
        original = _secret_data(original)
    group, version, kind = objects.api_group(target), objects.version(target), objects.kind(target)
    strategic = schema.is_builtin(group, version, kind)
    node = schema.root(group, version, kind) if strategic else None
    patch = merge.three_way_patch(original, target, current, node=node, strategic=strategic)
    predicted = normalize(merge.apply_patch(current, patch, node=node, strategic=strategic))
    before = normalize(current)
    if ignore:
        paths = ignored_paths(ignore, predicted, live=live) + ignored_paths(ignore, before, live=live)
        predicted, before = strip(predicted, paths), strip(before, paths)
    modified = predicted != before
    _mask(predicted, before)
    return DiffResult(modified, before, predicted)
