"""Waves, kind order and hoisting (spec §3.7, §3.8, §10): what is applied when, and what is awaited."""

from __future__ import annotations

import pytest

from tiphys.engine import OperationPhase

from .conftest import WAVE, configmap, deployment, pod, unique, write

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_waves_run_in_order_negative_first_each_awaited_until_healthy(app, tmp_path):
    directory = write(
        tmp_path / "repo",
        configmap("third", **{WAVE: "2"}),
        deployment("second", **{WAVE: "0"}),
        configmap("first", **{WAVE: "-1"}),
    )
    state = await app.sync(directory)
    assert (state.phase, state.message) == (OperationPhase.SUCCEEDED, "successfully synced (all tasks run)")
    assert [r.name for r in state.results][1:] == ["first", "second", "third"]
    messages = app.messages()
    assert messages.index("waiting for healthy state of /ConfigMap/first") < messages.index(
        "waiting for healthy state of apps/Deployment/second"
    )
    deploy = await app.get("Deployment", "second", "apps/v1")
    third = await app.get("ConfigMap", "third")
    assert deploy["status"]["availableReplicas"] == 1
    assert third["metadata"]["creationTimestamp"] >= deploy["metadata"]["creationTimestamp"]


async def test_a_degraded_resource_fails_the_sync_and_later_waves_never_start(app, tmp_path):
    directory = write(
        tmp_path / "repo",
        pod("crashes", simulate="exit=1,after=0.1s"),
        configmap("later", **{WAVE: "1"}),
    )
    state = await app.sync(directory)
    assert (state.phase, state.message) == (
        OperationPhase.FAILED,
        "one or more synchronization tasks completed unsuccessfully",
    )
    assert [r.hook_phase.value for r in state.results if r.name == "crashes"] == ["Failed"]
    assert await app.get("ConfigMap", "later") is None


async def test_kinds_go_in_helm_order_within_a_wave(app, tmp_path):
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"ports": [{"port": 80}], "selector": {"app": "web"}},
    }
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "web"}}
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "web"}, "rules": []}
    state = await app.sync(write(tmp_path / "repo", service, configmap("web"), role, account))
    assert state.phase is OperationPhase.SUCCEEDED
    assert [r.kind for r in state.results] == ["Namespace", "ServiceAccount", "ConfigMap", "Role", "Service"]


async def test_a_namespace_and_a_crd_are_hoisted_before_what_needs_them(app, tmp_path):
    other = unique("extra")
    group = f"{unique('g')}.example.io"
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}", "annotations": {WAVE: "3"}},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                }
            ],
        },
    }
    widget = {"apiVersion": f"{group}/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 1}}
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": other, "annotations": {WAVE: "5"}}}
    elsewhere = {**configmap("elsewhere"), "metadata": {"name": "elsewhere", "namespace": other}}
    state = await app.sync(write(tmp_path / "repo", widget, crd, namespace, elsewhere))
    assert (state.phase, state.message) == (OperationPhase.SUCCEEDED, "successfully synced (all tasks run)")
    order = [r.kind for r in state.results]
    assert order.index("Namespace", 1) < order.index("ConfigMap")
    assert order.index("CustomResourceDefinition") < order.index("Widget")
    assert (await app.kube.get(f"{group}/v1", "Widget", "w", namespace=app.namespace))["spec"] == {"size": 1}
    await app.kube.delete("v1", "Namespace", other)
