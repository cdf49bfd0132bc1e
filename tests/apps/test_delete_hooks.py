"""Deleting Applications (spec §14): PreDelete hooks, cascade highest wave first, PostDelete hooks, cleanup."""

from __future__ import annotations

import pytest

from tiphys.engine import deletion as rules

from .conftest import app_manifest
from .opsupport import HOOK, OPTIONS, POLICY, cm, files, finished, job, live, phase, unique

pytestmark = pytest.mark.asyncio(loop_scope="session")

WAVE = "argocd.argoproj.io/sync-wave"
KEEP = {"argocd.argoproj.io/sync-options": "Delete=false"}


def complete(obj) -> bool:
    conditions = (obj or {}).get("status", {}).get("conditions") or []
    return any(c["type"] == "Complete" and c["status"] == "True" for c in conditions)


async def deployed(apps, passes, name: str, manifest: dict) -> dict:
    apps.create(manifest)
    apps.patch(name, {"operation": {"sync": {}, "initiatedBy": {"username": "ann"}}})
    app = await passes.until(name, lambda a: finished(a))
    assert phase(app) == "Succeeded", app["status"]["operationState"]["message"]
    return app


async def test_cascade_delete_runs_pre_and_post_delete_hooks(apps, git_server, kube, passes):
    repo = git_server.repo(
        "delhooks",
        files(
            app=[cm("first", **{WAVE: "0"}), cm("last", **{WAVE: "1"})],
            hooks=[
                # Delete=false keeps the PreDelete hook through the cascade, so the test can see it ran.
                job("before-delete", **{HOOK: "PreDelete", **KEEP}),
                job("after-delete", **{HOOK: "PostDelete"}),  # default policy: left behind (gotcha 31)
                job("after-delete-tidy", **{HOOK: "PostDelete", POLICY: "HookSucceeded"}),
            ],
        ),
    )
    name, ns = unique("del"), unique("ns")
    await deployed(apps, passes, name, app_manifest(name, repo=repo.url, namespace=ns, sync_options=OPTIONS))
    app = await passes.until(name, lambda a: rules.PRE_DELETE_FINALIZER in a["metadata"].get("finalizers", []))
    assert set(app["metadata"]["finalizers"]) == {
        rules.PRE_DELETE_FINALIZER,
        rules.PRE_DELETE_CLEANUP_FINALIZER,
        rules.POST_DELETE_FINALIZER,
        rules.POST_DELETE_CLEANUP_FINALIZER,
    }
    # Deletion hooks never run during a sync.
    assert await live(kube, "Job", "before-delete", ns, "batch/v1") is None
    assert await live(kube, "Job", "after-delete", ns, "batch/v1") is None

    # `tiphys app delete --cascade`: the resources finalizer, then the delete.
    apps.patch(name, {"metadata": {"finalizers": [*app["metadata"]["finalizers"], rules.RESOURCES_FINALIZER]}})
    apps.http.delete(f"/apis/tiphys.io/v1alpha1/namespaces/tiphys/applications/{name}").raise_for_status()

    seen: list[tuple[bool, bool, bool, bool]] = []  # (pre hook done, first, last, post hook) after each pass
    while await passes.once(name) is not None:
        seen.append(
            (
                complete(await live(kube, "Job", "before-delete", ns, "batch/v1")),
                await live(kube, "ConfigMap", "first", ns) is not None,
                await live(kube, "ConfigMap", "last", ns) is not None,
                await live(kube, "Job", "after-delete", ns, "batch/v1") is not None,
            )
        )
        assert len(seen) < 400, seen[-5:]
    # Resources went only after the PreDelete hook completed; the highest wave went first;
    # the PostDelete hook only after the resources were gone.
    assert all(pre for pre, first, last, _ in seen if not (first and last))
    assert not any(last and not first for _, first, last, _ in seen)
    assert any(first and not last for _, first, last, _ in seen)  # one wave per pass
    assert (False, True, True, False) in seen or (True, True, True, False) in seen
    assert all(not first and not last for _, first, last, post in seen if post)
    assert complete(await live(kube, "Job", "before-delete", ns, "batch/v1"))
    assert complete(await live(kube, "Job", "after-delete", ns, "batch/v1"))  # outlives the app
    assert await live(kube, "Job", "after-delete-tidy", ns, "batch/v1") is None  # HookSucceeded: cleaned up


async def test_failed_pre_delete_hook_blocks_the_deletion(apps, git_server, kube, passes):
    repo = git_server.repo(
        "delfail", files(app=[cm("kept")], hooks=[job("veto", script="exit 1", **{HOOK: "PreDelete"})])
    )
    name, ns = unique("veto"), unique("ns")
    await deployed(apps, passes, name, app_manifest(name, repo=repo.url, namespace=ns, sync_options=OPTIONS))
    app = await passes.until(name, lambda a: rules.PRE_DELETE_FINALIZER in a["metadata"].get("finalizers", []))
    apps.patch(name, {"metadata": {"finalizers": [*app["metadata"]["finalizers"], rules.RESOURCES_FINALIZER]}})
    apps.http.delete(f"/apis/tiphys.io/v1alpha1/namespaces/tiphys/applications/{name}").raise_for_status()

    app = await passes.until(
        name, lambda a: any(c["type"] == "DeletionError" for c in a["status"].get("conditions", [])), timeout=60
    )
    condition = next(c for c in app["status"]["conditions"] if c["type"] == "DeletionError")
    assert condition["message"] == f"PreDelete hook(s) failed: {ns}/veto"
    assert await live(kube, "ConfigMap", "kept", ns) is not None
    assert rules.RESOURCES_FINALIZER in app["metadata"]["finalizers"]
    assert ("StatusRefreshed", f"Unable to delete application resources: {condition['message']}", True) in (
        passes.recorder.events
    )


async def test_delete_without_cascade_leaves_the_resources(apps, git_server, kube, passes):
    repo = git_server.repo("orphan", files(app=[cm("left")]))
    name, ns = unique("orphan"), unique("ns")
    await deployed(apps, passes, name, app_manifest(name, repo=repo.url, namespace=ns, sync_options=OPTIONS))
    apps.http.delete(f"/apis/tiphys.io/v1alpha1/namespaces/tiphys/applications/{name}").raise_for_status()
    await passes.until_gone(name)
    assert await live(kube, "ConfigMap", "left", ns) is not None


async def test_cascade_delete_without_hooks(apps, git_server, kube, passes):
    repo = git_server.repo("cascade", files(app=[cm("a"), cm("b", **{WAVE: "3"}), cm("kept", **KEEP)]))
    name, ns = unique("cascade"), unique("ns")
    await deployed(apps, passes, name, app_manifest(name, repo=repo.url, namespace=ns, sync_options=OPTIONS))
    apps.patch(name, {"metadata": {"finalizers": [rules.RESOURCES_FINALIZER]}})
    apps.http.delete(f"/apis/tiphys.io/v1alpha1/namespaces/tiphys/applications/{name}").raise_for_status()
    await passes.until_gone(name)
    assert await live(kube, "ConfigMap", "a", ns) is None
    assert await live(kube, "ConfigMap", "b", ns) is None
    assert await live(kube, "ConfigMap", "kept", ns) is not None
