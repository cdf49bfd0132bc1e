"""After a Workflow ends: podGC deletes its pods, ttlStrategy deletes the Workflow (runtime actions)."""

from __future__ import annotations

import asyncio

import pytest

from tiphys.kube import EventType

from .conftest import API, pods_of, run, sh, workflow

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def gone(kube, namespace: str, api_version: str, kind: str, name: str, *, timeout: float = 60) -> None:
    listed = await kube.list(api_version, kind, namespace=namespace)
    if name not in {o["metadata"]["name"] for o in listed.items}:
        return
    async with asyncio.timeout(timeout):
        async for event in kube.watch(api_version, kind, namespace=namespace, resource_version=listed.resource_version):
            if event.type is EventType.DELETED and event.object["metadata"]["name"] == name:
                return


async def test_pod_gc_on_pod_success_deletes_succeeded_pods_only(kube, wf_namespace):
    main = {"name": "main", "steps": [[{"name": "good", "template": "good"}, {"name": "bad", "template": "bad"}]]}
    manifest = workflow("main", main, sh("good", "true"), sh("bad", "exit 1"), podGC={"strategy": "OnPodSuccess"})
    wf = await run(kube, wf_namespace, manifest)
    name = wf["metadata"]["name"]
    assert wf["status"]["phase"] == "Failed"
    good = next(n for n in wf["status"]["nodes"].values() if n["displayName"] == "good")
    pod = f"{name}-good-{good['id'].rsplit('-', 1)[1]}"
    await gone(kube, wf_namespace, "v1", "Pod", pod)
    left = [p["metadata"]["name"] for p in await pods_of(kube, wf_namespace, name)]
    assert len(left) == 1 and "-bad-" in left[0]


async def test_ttl_strategy_deletes_the_finished_workflow(kube, wf_namespace):
    manifest = workflow("ok", sh("ok", "true"), ttlStrategy={"secondsAfterCompletion": 1})
    wf = await run(kube, wf_namespace, manifest)
    assert wf["status"]["phase"] == "Succeeded"
    await gone(kube, wf_namespace, API, "Workflow", wf["metadata"]["name"])
