"""One key decides the order; Namespaces and CRDs are hoisted; prunes run in reverse (spec §3.7, §3.8, §10)."""

from __future__ import annotations

import pytest

from tiphys.engine import (
    KIND_ORDER,
    SyncPhase,
    SyncTask,
    first_step,
    is_multi_step,
    kind_rank,
    order_prunes,
    sort_tasks,
)
from tiphys.engine.annotations import HOOK, SYNC_OPTIONS, SYNC_WAVE

from .builders import crd, namespace, obj

PRE, SYNC, POST, FAIL = SyncPhase.PRE_SYNC, SyncPhase.SYNC, SyncPhase.POST_SYNC, SyncPhase.SYNC_FAIL


def task(kind="Pod", name="p", *, phase=SYNC, wave=None, api_version="v1", ns=None, prune=False, annotations=None):
    annotations = dict(annotations or {})
    if wave is not None:
        annotations[SYNC_WAVE] = str(wave)
    thing = obj(kind, name, api_version=api_version, namespace=ns, annotations=annotations)
    return SyncTask(phase, live=thing) if prune else SyncTask(phase, target=thing)


def names(tasks):
    return [t.name for t in tasks]


def test_kind_order_is_gitops_engines():
    assert len(KIND_ORDER) == 35
    assert kind_rank("Namespace") == -35
    assert kind_rank("NetworkPolicy") == -34
    assert kind_rank("CustomResourceDefinition") == -22
    assert kind_rank("Service") == -13
    assert kind_rank("Deployment") == -8
    assert kind_rank("Job") == -5
    assert kind_rank("APIService") == -1
    assert kind_rank("MyCRD") == 0
    assert kind_rank("namespace") == 0  # by exact kind name


@pytest.mark.parametrize(
    "tasks, expected",
    [
        pytest.param(
            [
                task(name="post", phase=POST),
                task(name="fail", phase=FAIL),
                task(name="sync"),
                task(name="pre", phase=PRE),
            ],
            ["pre", "sync", "post", "fail"],
            id="phase-first",
        ),
        pytest.param(
            [task(name="w1", wave=1), task(name="w-1", wave=-1), task(name="w0", wave=0)],
            ["w-1", "w0", "w1"],
            id="then-wave",
        ),
        pytest.param(
            [task(name="late", phase=PRE, wave=5), task(name="early", phase=SYNC, wave=-5)],
            ["late", "early"],
            id="phase-beats-wave",
        ),
        pytest.param(
            [
                task("Deployment", "a", api_version="apps/v1"),
                task("ConfigMap", "z"),
                task("Service", "b"),
                task("Namespace", "c"),
                task("Secret", "d"),
            ],
            ["c", "d", "z", "b", "a"],
            id="then-kind-rank",
        ),
        pytest.param(
            [
                task("Widget", "a", api_version="x.io/v1"),
                task("APIService", "z", api_version="apiregistration.k8s.io/v1"),
            ],
            ["z", "a"],
            id="unknown-kinds-last",
        ),
        pytest.param(
            [
                task("Zebra", "b", api_version="x.io/v1"),
                task("Apple", "c", api_version="y.io/v1"),
                task("Zebra", "a", api_version="x.io/v1"),
            ],
            ["a", "b", "c"],
            id="unknown-kinds-interleave-by-name",
        ),
        pytest.param([task(name="b"), task(name="B"), task(name="a")], ["B", "a", "b"], id="then-name-bytewise"),
        pytest.param(
            [task("Workflow", "wf", api_version="argoproj.io/v1alpha1"), task("Namespace", "ns")],
            ["ns", "wf"],
            id="namespace-before-custom-resource",
        ),
    ],
)
def test_sort(tasks, expected):
    assert names(sort_tasks(tasks)) == expected


def test_ties_break_by_group_then_namespace():
    tasks = [
        task("Thing", "x", api_version="b.io/v1", ns="ns2"),
        task("Thing", "x", api_version="a.io/v1", ns="ns2"),
        task("Thing", "x", api_version="a.io/v1", ns="ns1"),
    ]
    assert [(t.group, t.namespace) for t in sort_tasks(tasks)] == [("a.io", "ns1"), ("a.io", "ns2"), ("b.io", "ns2")]


def test_namespaces_are_hoisted_into_the_phase_and_wave_of_their_first_object():
    job1 = SyncTask(PRE, target=obj("Job", "job1", api_version="batch/v1", namespace="ns1"))
    job2 = SyncTask(PRE, target=obj("Job", "job2", api_version="batch/v1", namespace="ns2"))
    ns1 = SyncTask(SYNC, target=namespace("ns1", annotations={SYNC_WAVE: "1"}))
    ns2 = SyncTask(SYNC, target=namespace("ns2", annotations={SYNC_WAVE: "2"}))

    ordered = sort_tasks([job1, job2, ns1, ns2])

    assert names(ordered) == ["ns1", "job1", "ns2", "job2"]
    assert [(t.phase, t.wave) for t in ordered] == [(PRE, 0)] * 4


def test_a_namespace_already_first_is_not_moved():
    ordered = sort_tasks([task("ConfigMap", "cm", ns="apps", wave=3), task("Namespace", "apps", wave=-1)])
    assert names(ordered) == ["apps", "cm"]
    assert ordered[0].wave == -1


def test_a_namespace_with_a_defaulted_namespace_is_still_a_dependency():
    # §3.3 gives every target a namespace, Namespaces included; that must not make it a dependent.
    ns = SyncTask(SYNC, target=namespace("apps", namespace="argocd", annotations={SYNC_WAVE: "5"}))
    ordered = sort_tasks([ns, task("ConfigMap", "cm", ns="apps")])
    assert names(ordered) == ["apps", "cm"]
    assert ordered[0].wave == 0


def test_only_core_namespaces_are_hoisted():
    fake = task("Namespace", "apps", api_version="example.io/v1", wave=5)
    ordered = sort_tasks([fake, task("ConfigMap", "cm", ns="apps")])
    assert names(ordered) == ["cm", "apps"]


def test_crds_are_hoisted_before_their_resources():
    cr = SyncTask(PRE, target=obj("Workflow", "wf", api_version="argoproj.io/v1alpha1"))
    definition = SyncTask(SYNC, target=crd("argoproj.io", "Workflow"))
    ordered = sort_tasks([cr, definition])
    assert [t.kind for t in ordered] == ["CustomResourceDefinition", "Workflow"]
    assert ordered[0].phase is PRE


def test_prune_tasks_are_not_hoisted_and_do_not_pull():
    pruned_ns = task("Namespace", "apps", wave=5, prune=True)
    ordered = sort_tasks([pruned_ns, task("ConfigMap", "cm", ns="apps")])
    assert names(ordered) == ["cm", "apps"]
    assert ordered[1].wave == 5


def test_prune_waves_are_mirrored_onto_the_same_numbers():
    tasks = [
        task(name="create0", wave=0),
        task(name="create2", wave=2),
        task(name="prune1", wave=1, prune=True),
        task(name="prune3", wave=3, prune=True),
        task(name="prune4", wave=4, prune=True),
    ]
    waves = {t.name: t.wave for t in order_prunes(tasks)}
    assert waves == {"create0": 0, "create2": 2, "prune1": 4, "prune3": 3, "prune4": 1}


def test_prune_waves_even_count_swap_pairs():
    tasks = [task(name=f"p{w}", wave=w, prune=True) for w in (-1, 0, 5, 9)]
    assert [t.wave for t in order_prunes(tasks)] == [9, 5, 0, -1]


@pytest.mark.parametrize(
    "create_waves, prune_wave, prune_last, live_option, expected",
    [
        pytest.param([0, 2], 1, True, False, 3, id="after-last-sync-wave"),
        pytest.param([0, 2], 7, True, False, 8, id="prunes-count-as-sync-waves"),
        pytest.param([-3, -1], -2, True, False, 1, id="at-least-one"),
        pytest.param([0], 0, False, True, 1, id="live-annotation"),
        pytest.param([0, 2], 7, False, False, 7, id="not-requested"),
    ],
)
def test_prune_last(create_waves, prune_wave, prune_last, live_option, expected):
    annotations = {SYNC_OPTIONS: "PruneLast=true"} if live_option else {}
    tasks = [task(name=f"c{w}", wave=w) for w in create_waves]
    tasks.append(task(name="old", wave=prune_wave, prune=True, annotations=annotations))
    [pruned] = [t for t in order_prunes(tasks, prune_last=prune_last) if t.is_prune]
    assert pruned.wave == expected


def test_prune_last_counts_reversed_prune_waves():
    tasks = [task(name="c", wave=0), task(name="p1", wave=1, prune=True), task(name="p4", wave=4, prune=True)]
    tasks.append(task(name="last", wave=2, prune=True, annotations={SYNC_OPTIONS: "PruneLast=true"}))
    waves = {t.name: t.wave for t in order_prunes(tasks)}
    assert waves == {"c": 0, "p1": 4, "p4": 1, "last": 5}


def test_prune_last_ignores_hook_phases():
    tasks = [task(name="hook", phase=POST, wave=9, annotations={HOOK: "PostSync"}), task(name="old", prune=True)]
    assert [t.wave for t in order_prunes(tasks, prune_last=True) if t.is_prune] == [1]


def test_steps():
    ordered = sort_tasks([task(name="a", phase=PRE), task(name="b"), task(name="c"), task(name="d", wave=1)])
    assert is_multi_step(ordered)
    step, rest = first_step(ordered)
    assert names(step) == ["a"]
    step, rest = first_step(rest)
    assert names(step) == ["b", "c"]
    step, rest = first_step(rest)
    assert (names(step), rest) == (["d"], [])
    assert not is_multi_step(step)
    assert first_step([]) == ([], [])
    assert not is_multi_step([])
