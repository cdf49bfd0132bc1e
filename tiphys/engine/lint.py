"""Warnings for what Argo CD tolerates silently (spec §1, §2, §8.1, §9, §10.1; gotchas 8 to 10).

Argo CD drops an object whose hook annotation has no valid type, ignores unknown hook types and
delete policies, and counts an unparseable wave as 0. Tiphys does exactly the same, then says so:
``annotation_warnings(obj)`` lists each tolerated annotation with what happened because of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from . import hooks, objects
from ._durations import parse_duration
from .annotations import (
    HELM_HOOK,
    HELM_HOOK_DELETE_POLICY,
    HOOK,
    HOOK_DELETE_POLICY,
    HOOK_TIMEOUT,
    AnnotationWarning,
    csv,
)
from .objects import KubeObject
from .types import HookDeletePolicy, HookType
from .waves import wave_warnings

__all__ = ["annotation_warnings"]

_ENGINE_TYPES = [t.value for t in HookType if t.known_to_engine]
_ARGO_TYPES = [t.value for t in HookType]
_HELM_TYPES = [*hooks.HELM_HOOK_TYPES, *hooks.HELM_DELETION_HOOK_TYPES]
_POLICIES = [p.value for p in HookDeletePolicy]
_DROPPED = "the object is not synced at all, as Argo CD ignores it"


def _hint(item: str, vocabulary: Iterable[str]) -> str:
    """`` (did you mean PreSync?)`` when only the letter case is wrong."""
    match = next((word for word in vocabulary if word.lower() == item.lower()), None)
    return f" (did you mean {match}?)" if match else ""


def _listing(words: list[str]) -> str:
    return ", ".join(words[:-1]) + " or " + words[-1]


def _hook_type_warnings(obj: KubeObject) -> list[AnnotationWarning]:
    annotations = objects.annotations_of(obj)
    argo_items = csv(obj, HOOK)
    if hooks.is_ignored(obj) and not hooks.deletion_hook_types(obj):
        if HOOK in annotations and not argo_items:
            message = f"annotation {HOOK} is empty: {_DROPPED}"
        elif HOOK in annotations:
            hints = "".join(_hint(item, _ENGINE_TYPES) for item in argo_items)
            message = (
                f'annotation {HOOK}: "{annotations[HOOK]}" names no hook type ({_listing(_ENGINE_TYPES)})'
                f"{hints}: {_DROPPED}"
            )
        else:
            return [
                AnnotationWarning.of(
                    obj,
                    HELM_HOOK,
                    f'annotation {HELM_HOOK}: "{annotations[HELM_HOOK]}" is not a hook Argo CD runs '
                    f"({_listing(_HELM_TYPES)}): {_DROPPED}",
                )
            ]
        return [AnnotationWarning.of(obj, HOOK, message)]

    warnings = [
        AnnotationWarning.of(
            obj, HOOK, f'annotation {HOOK}: unknown hook type "{item}" is ignored{_hint(item, _ARGO_TYPES)}'
        )
        for item in argo_items
        if item not in _ARGO_TYPES
    ]
    types = hooks.hook_types(obj)
    if HookType.SKIP in types and len(types) > 1:
        phases = ",".join(t.value for t in types if t is not HookType.SKIP)
        warnings.append(
            AnnotationWarning.of(
                obj, HOOK, f"annotation {HOOK}: Skip only skips on its own; this object is a {phases} hook"
            )
        )
    argo_types = [item for item in argo_items if item in _ENGINE_TYPES]
    if not argo_types and annotations.get(HELM_HOOK, hooks.HELM_CRD_INSTALL) != hooks.HELM_CRD_INSTALL:
        warnings += [
            AnnotationWarning.of(obj, HELM_HOOK, f'annotation {HELM_HOOK}: "{item}" is not supported and is ignored')
            for item in csv(obj, HELM_HOOK)
            if item not in _HELM_TYPES
        ]
    return warnings


def _delete_policy_warnings(obj: KubeObject) -> list[AnnotationWarning]:
    if not hooks.is_hook(obj):
        return []
    warnings = []
    for key, vocabulary in (
        (HOOK_DELETE_POLICY, _POLICIES),
        (HELM_HOOK_DELETE_POLICY, list(hooks.HELM_DELETE_POLICIES)),
    ):
        warnings += [
            AnnotationWarning.of(
                obj, key, f'annotation {key}: unknown delete policy "{item}" is ignored{_hint(item, vocabulary)}'
            )
            for item in csv(obj, key)
            if item not in vocabulary
        ]
    given = [p for p in csv(obj, HOOK_DELETE_POLICY) if p in _POLICIES]
    given += [p for p in csv(obj, HELM_HOOK_DELETE_POLICY) if p in hooks.HELM_DELETE_POLICIES]
    if warnings and not given:
        default = HookDeletePolicy.BEFORE_HOOK_CREATION.value
        warnings = [replace(w, message=f"{w.message}; the default {default} applies") for w in warnings]
    return warnings


def _timeout_warnings(obj: KubeObject) -> list[AnnotationWarning]:
    text = objects.annotations_of(obj).get(HOOK_TIMEOUT)
    if text is None or hooks.hook_timeout(obj) is not None:
        return []
    try:
        parse_duration(text)
        problem = "is not positive"
    except ValueError:
        problem = 'is not a duration (like "90s" or "5m")'
    return [
        AnnotationWarning.of(
            obj, HOOK_TIMEOUT, f'annotation {HOOK_TIMEOUT}: "{text}" {problem}; the hook has no timeout'
        )
    ]


def annotation_warnings(obj: KubeObject) -> list[AnnotationWarning]:
    """Every annotation of ``obj`` that Argo CD would tolerate silently, with its consequence."""
    return [*_hook_type_warnings(obj), *_delete_policy_warnings(obj), *wave_warnings(obj), *_timeout_warnings(obj)]
