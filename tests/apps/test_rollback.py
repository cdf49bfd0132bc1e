"""History and rollback: ids count up, the limit holds, and a rollback restores an earlier revision's objects."""

from __future__ import annotations

import pytest

from tiphys.controller import application as app_api

from .conftest import app_manifest
from .opsupport import HOOK, OPTIONS, cm, files, finished, job, live, op_state, phase, unique

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def sync(apps, passes, name: str, operation: dict | None = None) -> dict:
    before = op_state(await passes.app(name)).get("startedAt")
    apps.patch(name, {"operation": operation or {"sync": {}, "initiatedBy": {"username": "ann"}}})
    app = await passes.until(name, lambda a: finished(a) and op_state(a).get("startedAt") != before)
    assert phase(app) == "Succeeded", op_state(app)["message"]
    return app


async def test_rollback_restores_the_previous_revision(apps, git_server, kube, passes):
    repo = git_server.repo("rollback", files(app=[cm("settings", "one")], hooks=[job("pre", **{HOOK: "PreSync"})]))
    name, ns = unique("rb"), unique("ns")
    apps.create(app_manifest(name, repo=repo.url, namespace=ns, sync_options=OPTIONS))
    first = repo.head()
    await sync(apps, passes, name)
    second = repo.commit(files(app=[cm("settings", "two"), cm("extra")], hooks=[job("pre", **{HOOK: "PreSync"})]))
    app = await sync(apps, passes, name)
    assert [(h["id"], h["revision"]) for h in app["status"]["history"]] == [(0, first), (1, second)]
    assert (await live(kube, "ConfigMap", "settings", ns))["data"] == {"k": "two"}

    operation = app_api.rollback_operation(app, 0, prune=True, username="ann")
    app = await sync(apps, passes, name, operation)

    assert (await live(kube, "ConfigMap", "settings", ns))["data"] == {"k": "one"}
    assert await live(kube, "ConfigMap", "extra", ns) is None  # pruned: not in the old revision
    state = op_state(app)
    assert state["syncResult"]["revision"] == first
    # The apply strategy: no hook runs during a rollback, as in Argo CD.
    assert not [r for r in state["syncResult"]["resources"] if r.get("hookType")]
    assert [(h["id"], h["revision"]) for h in app["status"]["history"]] == [(0, first), (1, second), (2, first)]
    # Git still says "two": the app is OutOfSync after a rollback.
    app = await passes.until(name, lambda a: a["status"]["sync"]["status"] == "OutOfSync")


async def test_history_keeps_the_newest_entries(apps, git_server, kube, passes):
    repo = git_server.repo("limit", files(app=[cm("c", "0")]))
    name, ns = unique("limit"), unique("ns")
    manifest = app_manifest(name, repo=repo.url, namespace=ns, sync_options=OPTIONS)
    manifest["spec"]["revisionHistoryLimit"] = 2
    apps.create(manifest)
    heads = [repo.head()]
    await sync(apps, passes, name)
    for value in ("1", "2"):
        heads.append(repo.commit(files(app=[cm("c", value)])))
        app = await sync(apps, passes, name)
    assert [(h["id"], h["revision"]) for h in app["status"]["history"]] == [(1, heads[1]), (2, heads[2])]


async def test_rollback_is_refused_while_automated_sync_is_on(apps, git_server, passes):
    repo = git_server.repo("refused", files(app=[cm("c")]))
    name = unique("refused")
    apps.create(app_manifest(name, repo=repo.url, namespace=unique("ns"), sync_options=OPTIONS, automated=True))
    app = await passes.until(name, lambda a: finished(a) and phase(a) == "Succeeded")
    with pytest.raises(app_api.RollbackRefused, match=r"^rollback cannot be initiated when auto-sync is enabled$"):
        app_api.rollback_operation(app, 0)
