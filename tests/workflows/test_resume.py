"""Crash safety: kill -9 the controller halfway through a Workflow; a new one finishes it, running nothing twice."""

from __future__ import annotations

import signal

import pytest

from tests.conftest import start_cluster
from tiphys.kube import Kube

from .conftest import finished, nodes, pods_of, sh, start_controller, until, wait_for, workflow


@pytest.fixture
def own_cluster(tmp_path):
    # Its own cluster: the session's controller must not finish the Workflow for us.
    running = start_cluster(tmp_path / "home")
    yield running
    running.stop()


@pytest.mark.asyncio(loop_scope="session")
async def test_a_new_controller_carries_on_where_a_killed_one_stopped(own_cluster, tmp_path):
    first = start_controller(own_cluster.kubeconfig, tmp_path / "first.log")
    main = {
        "name": "main",
        "steps": [
            [{"name": "one", "template": "quick"}],
            [{"name": "two", "template": "slow"}],
            [{"name": "three", "template": "quick"}],
        ],
    }
    manifest = workflow("main", main, sh("quick", "echo quick"), sh("slow", "sleep 2; echo slow"), name="resumed")
    async with Kube.from_kubeconfig(own_cluster.kubeconfig) as kube:
        await kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "resume"}})
        wait_for(lambda: "workflow controller: on" in first.output(), what="the first controller")
        await kube.create(manifest, namespace="resume")
        await until(
            kube, "resume", "resumed", lambda wf: nodes(wf).get("two", {}).get("phase") in ("Pending", "Running")
        )
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(timeout=30)
        before = {p["metadata"]["name"]: p["metadata"]["uid"] for p in await pods_of(kube, "resume", "resumed")}
        one_started = nodes(await kube.get("argoproj.io/v1alpha1", "Workflow", "resumed", namespace="resume"))["one"]

        second = start_controller(own_cluster.kubeconfig, tmp_path / "second.log")
        try:
            done = await finished(kube, "resume", "resumed")
        finally:
            second.stop()
        assert done["status"]["phase"] == "Succeeded", done["status"].get("message")
        assert done["status"]["progress"] == "3/3"
        after = {p["metadata"]["name"]: p["metadata"]["uid"] for p in await pods_of(kube, "resume", "resumed")}
        assert len(after) == 3
        assert all(after[name] == uid for name, uid in before.items())  # no pod made twice
        assert nodes(done)["one"]["startedAt"] == one_started["startedAt"]


@pytest.mark.asyncio(loop_scope="session")
async def test_two_controllers_at_once_conflict_but_agree(cluster, wf_controller, wf_namespace, kube, tmp_path):
    # A second controller on the same cluster: their writes conflict (resourceVersion), each
    # conflict is read again and reconciled again, and deterministic pod names keep pods single.
    second = start_controller(cluster.kubeconfig, tmp_path / "second.log")
    try:
        wait_for(lambda: "workflow controller: on" in second.output(), what="the second controller")
        tasks = [
            {"name": f"t{i}", "template": "ok", **({"dependencies": [f"t{i - 1}"]} if i % 3 else {})} for i in range(9)
        ]
        manifest = workflow("main", {"name": "main", "dag": {"tasks": tasks}}, sh("ok", "echo ok"))
        created = await kube.create(manifest, namespace=wf_namespace)
        done = await finished(kube, wf_namespace, created["metadata"]["name"])
    finally:
        second.stop()
    assert done["status"]["phase"] == "Succeeded" and done["status"]["progress"] == "9/9"
    pods = await pods_of(kube, wf_namespace, created["metadata"]["name"])
    assert len(pods) == 9
