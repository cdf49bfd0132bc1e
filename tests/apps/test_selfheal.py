"""Self-heal and auto-prune: drift is reverted, removed objects are pruned — or only reported without prune."""

from __future__ import annotations

import pytest

from .conftest import app_manifest
from .opsupport import OPTIONS, cm, files, finished, live, op_state, phase, unique

pytestmark = pytest.mark.asyncio(loop_scope="session")


def synced(app) -> bool:
    return finished(app) and phase(app) == "Succeeded" and app["status"]["sync"]["status"] == "Synced"


async def test_self_heal_reverts_a_manual_change(apps, git_server, kube, passes):
    repo = git_server.repo("heal", files(app=[cm("settings", "from-git"), cm("other")]))
    name, ns = unique("heal"), unique("ns")
    apps.create(app_manifest(name, repo=repo.url, namespace=ns, sync_options=OPTIONS, automated={"selfHeal": True}))
    await passes.until(name, synced, what="first sync")
    first = op_state(await passes.app(name))["startedAt"]

    await kube.patch("v1", "ConfigMap", "settings", {"data": {"k": "by-hand"}}, namespace=ns)
    app = await passes.until(
        name, lambda a: op_state(a)["startedAt"] != first and synced(a), what="self-heal sync", timeout=60
    )
    assert (await live(kube, "ConfigMap", "settings", ns))["data"] == {"k": "from-git"}
    operation = op_state(app)["operation"]
    # Argo CD heals only what drifted, as a selective sync, and counts the attempts.
    assert operation["sync"]["resources"] == [{"kind": "ConfigMap", "name": "settings"}]
    assert operation["sync"]["autoHealAttemptsCount"] == 1
    assert ("OperationCompleted", f"Partial sync operation to {repo.head()} succeeded", False) in passes.recorder.events
    assert len(app["status"]["history"]) == 1  # a selective sync is not a deployment


async def test_without_self_heal_drift_is_only_reported(apps, git_server, kube, passes):
    repo = git_server.repo("noheal", files(app=[cm("settings", "from-git")]))
    name, ns = unique("noheal"), unique("ns")
    apps.create(app_manifest(name, repo=repo.url, namespace=ns, sync_options=OPTIONS, automated=True))
    app = await passes.until(name, synced, what="first sync")
    started = op_state(app)["startedAt"]

    await kube.patch("v1", "ConfigMap", "settings", {"data": {"k": "by-hand"}}, namespace=ns)
    app = await passes.until(name, lambda a: a["status"]["sync"]["status"] == "OutOfSync")
    for _ in range(3):
        app = await passes.once(name)
    assert op_state(app)["startedAt"] == started and "operation" not in app
    assert (await live(kube, "ConfigMap", "settings", ns))["data"] == {"k": "by-hand"}


async def test_auto_prune_deletes_what_left_git(apps, git_server, kube, passes):
    repo = git_server.repo("prune", files(app=[cm("kept"), cm("dropped")]))
    name, ns = unique("prune"), unique("ns")
    apps.create(app_manifest(name, repo=repo.url, namespace=ns, sync_options=OPTIONS, automated={"prune": True}))
    await passes.until(name, synced, what="first sync")
    assert await live(kube, "ConfigMap", "dropped", ns) is not None

    second = repo.commit(files(app=[cm("kept")]))
    app = await passes.until(name, lambda a: synced(a) and op_state(a)["syncResult"]["revision"] == second)
    assert await live(kube, "ConfigMap", "dropped", ns) is None
    assert await live(kube, "ConfigMap", "kept", ns) is not None
    pruned = [r for r in op_state(app)["syncResult"]["resources"] if r["name"] == "dropped"]
    assert [r["status"] for r in pruned] == ["Pruned"]


async def test_without_auto_prune_removed_objects_are_only_reported(apps, git_server, kube, passes):
    repo = git_server.repo("noprune", files(app=[cm("kept"), cm("dropped")]))
    name, ns = unique("noprune"), unique("ns")
    apps.create(app_manifest(name, repo=repo.url, namespace=ns, sync_options=OPTIONS, automated=True))
    app = await passes.until(name, synced, what="first sync")
    started = op_state(app)["startedAt"]

    second = repo.commit(files(app=[cm("kept")]))
    app = await passes.until(name, lambda a: a["status"]["sync"].get("revision") == second)
    for _ in range(3):
        app = await passes.once(name)
    assert app["status"]["sync"]["status"] == "OutOfSync"
    dropped = [r for r in app["status"]["resources"] if r["name"] == "dropped"]
    assert len(dropped) == 1 and dropped[0].get("requiresPruning") is True
    assert op_state(app)["startedAt"] == started  # only the prune differs: automated sync leaves it
    assert await live(kube, "ConfigMap", "dropped", ns) is not None
