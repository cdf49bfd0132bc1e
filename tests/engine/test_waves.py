"""The wave of an object (spec §10.1, §9: Helm hook weight)."""

from __future__ import annotations

import pytest

from tiphys.engine import wave_of
from tiphys.engine.annotations import HELM_HOOK_WEIGHT, HOOK, SYNC_WAVE
from tiphys.engine.waves import helm_weight, wave_warnings

from .builders import annotated


@pytest.mark.parametrize(
    "annotations, wave",
    [
        pytest.param({}, 0, id="default-zero"),
        pytest.param({SYNC_WAVE: "3"}, 3, id="sync-wave"),
        pytest.param({SYNC_WAVE: "-2"}, -2, id="negative"),
        pytest.param({SYNC_WAVE: "+4"}, 4, id="plus-sign"),
        pytest.param({SYNC_WAVE: "1.5"}, 0, id="unparseable-counts-as-zero"),
        pytest.param({SYNC_WAVE: " 1"}, 0, id="whitespace-is-unparseable"),
        pytest.param({SYNC_WAVE: ""}, 0, id="empty-is-unparseable"),
        pytest.param({HELM_HOOK_WEIGHT: "7"}, 7, id="helm-weight"),
        pytest.param({HELM_HOOK_WEIGHT: "-5", HOOK: "PreSync"}, -5, id="helm-weight-on-argo-hook"),
        pytest.param({SYNC_WAVE: "2", HELM_HOOK_WEIGHT: "9"}, 2, id="sync-wave-beats-weight"),
        pytest.param({SYNC_WAVE: "x", HELM_HOOK_WEIGHT: "9"}, 9, id="bad-wave-falls-back-to-weight"),
        pytest.param({SYNC_WAVE: "x", HELM_HOOK_WEIGHT: "y"}, 0, id="both-bad"),
        pytest.param({HELM_HOOK_WEIGHT: "y"}, 0, id="bad-weight"),
    ],
)
def test_wave_of(annotations, wave):
    assert wave_of(annotated(annotations)) == wave


def test_helm_weight_alone():
    assert helm_weight(annotated({HELM_HOOK_WEIGHT: "1"})) == 1
    assert helm_weight(annotated({})) == 0


@pytest.mark.parametrize(
    "annotations, messages",
    [
        pytest.param({SYNC_WAVE: "1"}, [], id="valid"),
        pytest.param(
            {SYNC_WAVE: "one"},
            [
                'annotation argocd.argoproj.io/sync-wave: "one" is not an integer, '
                "so the object is in wave 0 (the default), as Argo CD does"
            ],
            id="bad-wave",
        ),
        pytest.param(
            {SYNC_WAVE: "1.5", HELM_HOOK_WEIGHT: "4"},
            [
                'annotation argocd.argoproj.io/sync-wave: "1.5" is not an integer, '
                "so the object is in wave 4 (helm.sh/hook-weight), as Argo CD does"
            ],
            id="bad-wave-with-weight",
        ),
        pytest.param(
            {HELM_HOOK_WEIGHT: "heavy"},
            ['annotation helm.sh/hook-weight: "heavy" is not an integer and is counted as 0, as in Argo CD'],
            id="bad-weight",
        ),
        pytest.param(
            {SYNC_WAVE: "2", HELM_HOOK_WEIGHT: "heavy"},
            ['annotation helm.sh/hook-weight: "heavy" is not an integer and is ignored, as in Argo CD'],
            id="bad-weight-overridden",
        ),
    ],
)
def test_wave_warnings(annotations, messages):
    warnings = wave_warnings(annotated(annotations))
    assert [w.message for w in warnings] == messages
    assert all(w.value == annotations[w.annotation] for w in warnings)
