"""The sync wave of an object (spec §10.1, gitops-engine ``syncwaves/waves.go`` and ``hook/helm/weight.go``).

``argocd.argoproj.io/sync-wave`` if it is a Go integer, else ``helm.sh/hook-weight`` if that is
one (for any object, hook or not), else 0. Negative waves run before wave 0. The engine may
override a task's wave later (prune reversal, PruneLast, dependency hoisting: see ``ordering``).
"""

from __future__ import annotations

from .annotations import HELM_HOOK_WEIGHT, SYNC_WAVE, AnnotationWarning, int_annotation, invalid_int_annotation
from .objects import KubeObject

__all__ = ["helm_weight", "wave_of", "wave_warnings"]


def helm_weight(obj: KubeObject) -> int:
    """``helm.sh/hook-weight`` as an integer; 0 when absent or unparseable."""
    weight = int_annotation(obj, HELM_HOOK_WEIGHT)
    return 0 if weight is None else weight


def wave_of(obj: KubeObject) -> int:
    wave = int_annotation(obj, SYNC_WAVE)
    return helm_weight(obj) if wave is None else wave


def wave_warnings(obj: KubeObject) -> list[AnnotationWarning]:
    """What ``wave_of`` tolerated: a sync-wave or hook-weight that is not an integer."""
    warnings = []
    wave = wave_of(obj)
    bad_wave = invalid_int_annotation(obj, SYNC_WAVE)
    if bad_wave is not None:
        source = "helm.sh/hook-weight" if int_annotation(obj, HELM_HOOK_WEIGHT) is not None else "the default"
        warnings.append(
            AnnotationWarning.of(
                obj,
                SYNC_WAVE,
                f'annotation {SYNC_WAVE}: "{bad_wave}" is not an integer, so the object is in wave {wave} '
                f"({source}), as Argo CD does",
            )
        )
    bad_weight = invalid_int_annotation(obj, HELM_HOOK_WEIGHT)
    if bad_weight is not None:
        consequence = "ignored" if int_annotation(obj, SYNC_WAVE) is not None else "counted as 0"
        warnings.append(
            AnnotationWarning.of(
                obj,
                HELM_HOOK_WEIGHT,
                f'annotation {HELM_HOOK_WEIGHT}: "{bad_weight}" is not an integer and is {consequence}, as in Argo CD',
            )
        )
    return warnings
