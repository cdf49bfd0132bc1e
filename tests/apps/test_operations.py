"""Operations run by ``process_app``: requested, automated, retried, terminated — against the session cluster.

Each test drives controller passes itself (``opsupport.Passes``: app-core's refresh, then
``process_app``), over a real git daemon and the embedded cluster, where hook Jobs really run.
"""

from __future__ import annotations

import socket
import subprocess

import pytest

from tiphys import sources
from tiphys.controller import Syncer, SyncRequest, application, oplock
from tiphys.controller.executor import Executor
from tiphys.engine import Delete, OperationPhase, Purpose
from tiphys.kube import Kube, NotFound, UnknownKind

from .conftest import app_manifest
from .opsupport import HOOK, OPTIONS, POLICY, Passes, cm, files, finished, job, live, op_state, phase, unique

pytestmark = pytest.mark.asyncio(loop_scope="session")


def hooked(value: str = "v1") -> dict[str, str]:
    return files(
        app=[cm("settings", value)],
        hooks=[
            job("before", **{HOOK: "PreSync"}),
            job("after", **{HOOK: "PostSync", POLICY: "HookSucceeded"}),
        ],
    )


async def test_requested_sync_runs_hooks_records_history_and_clears_the_operation(apps, git_server, kube, passes):
    repo = git_server.repo("ops", hooked())
    name, ns = unique("op"), unique("ns")
    apps.create(app_manifest(name, repo=repo.url, namespace=ns, sync_options=OPTIONS))
    apps.patch(name, {"operation": {"sync": {"revision": "HEAD"}, "initiatedBy": {"username": "ann"}}})

    app = await passes.until(name, finished, what="the operation ends")

    state = op_state(app)
    assert state["phase"] == "Succeeded", state["message"]
    assert state["syncResult"]["revision"] == repo.head()
    assert state["syncResult"]["source"]["repoURL"] == repo.url
    hooks = {
        (r["name"], r.get("hookType")): r["hookPhase"] for r in state["syncResult"]["resources"] if r.get("hookType")
    }
    assert hooks == {("before", "PreSync"): "Succeeded", ("after", "PostSync"): "Succeeded"}
    assert (await live(kube, "ConfigMap", "settings", ns))["data"] == {"k": "v1"}
    assert await live(kube, "Job", "after", ns, "batch/v1") is None  # HookSucceeded: deleted at the end
    history = app["status"]["history"]
    assert [(h["id"], h["revision"]) for h in history] == [(0, repo.head())]
    assert history[0]["initiatedBy"] == {"username": "ann"}
    assert ("OperationCompleted", f"Sync operation to {repo.head()} succeeded", False) in passes.recorder.events
    # The operation's Lease was given back.
    lease = await kube.get("coordination.k8s.io/v1", "Lease", oplock.lease_name(name), namespace="tiphys")
    assert lease["spec"]["holderIdentity"] == ""


async def test_commits_are_synced_automatically_with_hooks(apps, git_server, kube, passes):
    repo = git_server.repo("auto", hooked("v1"))
    name, ns = unique("auto"), unique("ns")
    apps.create(app_manifest(name, repo=repo.url, namespace=ns, sync_options=OPTIONS, automated=True))

    first = repo.head()
    app = await passes.until(name, lambda a: finished(a) and op_state(a)["syncResult"]["revision"] == first)
    assert op_state(app)["operation"]["initiatedBy"] == {"automated": True}
    assert op_state(app)["operation"]["retry"] == {"limit": 5}

    second = repo.commit(hooked("v2"))
    app = await passes.until(
        name, lambda a: finished(a) and op_state(a)["syncResult"]["revision"] == second, what="second commit synced"
    )
    assert phase(app) == "Succeeded"
    assert (await live(kube, "ConfigMap", "settings", ns))["data"] == {"k": "v2"}
    assert [h["revision"] for h in app["status"]["history"]] == [first, second]
    # PreSync ran again for the new commit: its result is in the new operation.
    assert any(
        r["name"] == "before" and r["hookPhase"] == "Succeeded" for r in op_state(app)["syncResult"]["resources"]
    )
    app = await passes.until(name, lambda a: a["status"]["sync"]["status"] == "Synced", what="Synced after")
    assert ("OperationStarted", f"Initiated automated sync to '{second}'", False) in passes.recorder.events


async def test_failed_automated_sync_is_not_repeated_for_the_same_revision(apps, git_server, kube, passes):
    repo = git_server.repo("fail", files(app=[cm("c")], hooks=[job("broken", script="exit 3", **{HOOK: "PreSync"})]))
    name, ns = unique("fail"), unique("ns")
    manifest = app_manifest(name, repo=repo.url, namespace=ns, sync_options=OPTIONS, automated=True)
    manifest["spec"]["syncPolicy"]["retry"] = {"limit": 0}
    apps.create(manifest)

    app = await passes.until(name, finished)
    assert phase(app) == "Failed"
    started = op_state(app)["startedAt"]
    app = await passes.until(name, lambda a: "SyncError" in [c["type"] for c in a["status"].get("conditions", [])])
    condition = next(c for c in app["status"]["conditions"] if c["type"] == "SyncError")
    assert condition["message"].startswith(f"Failed last sync attempt to [{repo.head()}]: ")
    for _ in range(3):
        app = await passes.once(name)
        assert op_state(app)["startedAt"] == started and "operation" not in app  # no second attempt

    repo.commit(files(app=[cm("c")], hooks=[job("fixed", script="exit 0", **{HOOK: "PreSync"})]))
    app = await passes.until(name, lambda a: finished(a) and phase(a) == "Succeeded", what="a new commit syncs")
    app = await passes.until(name, lambda a: "SyncError" not in [c["type"] for c in a["status"].get("conditions", [])])


async def test_retry_with_backoff_then_gives_up(apps, git_server, kube, passes):
    repo = git_server.repo("retry", files(hooks=[job("flaky", script="exit 1", **{HOOK: "PreSync"})], app=[cm("c")]))
    name, ns = unique("retry"), unique("ns")
    apps.create(app_manifest(name, repo=repo.url, namespace=ns, sync_options=OPTIONS))
    retry = {"limit": 1, "backoff": {"duration": "1s", "factor": 2}}
    apps.patch(name, {"operation": {"sync": {"revision": "HEAD"}, "initiatedBy": {"username": "ann"}, "retry": retry}})

    app = await passes.until(name, lambda a: op_state(a).get("retryCount") == 1, what="first attempt failed")
    state = op_state(app)
    assert state["phase"] == "Running" and "finishedAt" in state
    assert "Retrying attempt #1 at " in state["message"]
    assert "operation" in app  # still requested while it waits

    app = await passes.until(name, finished, what="the retry ends")
    state = op_state(app)
    assert state["phase"] == "Failed"
    assert state["message"].endswith("(retried 1 times).")
    assert state["retryCount"] == 1
    assert "history" not in app["status"]


async def test_manual_sync_takes_the_apps_retry_policy(apps, git_server, kube, passes):
    repo = git_server.repo("policy", files(hooks=[job("flaky", script="exit 1", **{HOOK: "PreSync"})]))
    name, ns = unique("policy"), unique("ns")
    manifest = app_manifest(name, repo=repo.url, namespace=ns, sync_options=OPTIONS)
    manifest["spec"]["syncPolicy"]["retry"] = {"limit": 1, "backoff": {"duration": "1s"}}
    apps.create(manifest)
    apps.patch(name, {"operation": {"sync": {}, "initiatedBy": {"username": "ann"}}})
    app = await passes.until(name, lambda a: op_state(a).get("retryCount") == 1)
    assert op_state(app)["operation"]["retry"]["limit"] == 1


async def test_terminate_a_running_operation(apps, git_server, kube, passes):
    repo = git_server.repo("term", files(hooks=[job("slow", script="sleep 120", **{HOOK: "PreSync"})]))
    name, ns = unique("term"), unique("ns")
    apps.create(app_manifest(name, repo=repo.url, namespace=ns, sync_options=OPTIONS))
    apps.patch(name, {"operation": {"sync": {}, "initiatedBy": {"username": "ann"}}})
    await passes.until(name, lambda a: "waiting for completion of hook" in op_state(a).get("message", ""))

    apps.patch(name, {"status": {"operationState": {"phase": "Terminating"}}})  # what `app terminate-op` does
    app = await passes.until(name, finished, what="terminated")
    state = op_state(app)
    assert (state["phase"], state["message"]) == ("Failed", "Operation terminated")
    slow = next(r for r in state["syncResult"]["resources"] if r["name"] == "slow")
    assert (slow["hookPhase"], slow["message"]) == ("Failed", "Terminated")
    assert "retryCount" not in state  # a terminated operation is never retried


async def test_invalid_operation_request_is_an_error(apps, git_server, passes):
    repo = git_server.repo("invalid", files(app=[cm("c")]))
    name = unique("invalid")
    apps.create(app_manifest(name, repo=repo.url, namespace=unique("ns")))
    apps.patch(name, {"operation": {"initiatedBy": {"username": "ann"}}})
    app = await passes.until(name, finished)
    assert (phase(app), op_state(app)["message"]) == ("Error", "Invalid operation request: no operation specified")


async def test_cli_and_controller_never_drive_one_operation_at_once(apps, git_server, kube, passes):
    repo = git_server.repo("lease", files(hooks=[job("slow", script="sleep 120", **{HOOK: "PreSync"})]))
    name, ns = unique("lease"), unique("ns")
    apps.create(app_manifest(name, repo=repo.url, namespace=ns, sync_options=OPTIONS))

    # A CLI run holds the app's operation: the controller leaves a requested operation alone.
    await oplock.acquire(kube, name, "tiphys-cli/test/1", duration=60)
    apps.patch(name, {"operation": {"sync": {}, "initiatedBy": {"username": "ann"}}})
    for _ in range(3):
        app = await passes.once(name)
        assert app is not None and "operationState" not in app["status"] and "operation" in app
    assert 5.0 in passes.requeued  # it looks again later
    await oplock.release(kube, name, "tiphys-cli/test/1")
    await passes.until(name, lambda a: phase(a) == "Running", what="the controller starts it once the CLI let go")

    # Now the controller holds it: a CLI run is refused with a message naming the holder.
    with pytest.raises(oplock.OperationBusy, match="is being run by the tiphys controller"):
        await oplock.acquire(kube, name, oplock.cli_identity())
    apps.patch(name, {"status": {"operationState": {"phase": "Terminating"}}})
    app = await passes.until(name, finished, what="terminated")
    assert op_state(app)["message"] == "Operation terminated"
    # The operation is over: the Lease is free for the next driver.
    await oplock.acquire(kube, name, oplock.cli_identity())
    await oplock.release(kube, name, oplock.cli_identity())


async def test_lease_of_a_cli_run_that_died_is_free_at_once(kube, apps):
    name = unique("dead")
    gone = subprocess.Popen(["true"])  # a process that has exited (and been reaped): its pid runs nothing
    gone.wait()
    dead = f"tiphys-cli/{socket.gethostname()}/{gone.pid}"
    await oplock.acquire(kube, name, dead, duration=600)
    await oplock.acquire(kube, name, oplock.CONTROLLER)  # not refused: the holder's process is gone
    alive = oplock.cli_identity()  # this very process
    await oplock.release(kube, name, oplock.CONTROLLER)
    await oplock.acquire(kube, name, alive, duration=600)
    with pytest.raises(oplock.OperationBusy, match=f"is being run by '{alive}'"):
        await oplock.acquire(kube, name, oplock.CONTROLLER)


class Died(BaseException):
    """The controller process dies here (a BaseException, so nothing on the way catches it)."""


def generated_pre_hook() -> dict:
    """A PreSync Job hook named by ``generateName: pre-``, deleted when it succeeds."""
    pre = job("", **{HOOK: "PreSync", POLICY: "HookSucceeded"})
    pre["metadata"]["generateName"] = "pre-"
    del pre["metadata"]["name"]
    return pre


def die_after_deleting_hooks(monkeypatch) -> None:
    """Make ``Executor.run`` raise ``Died`` right after a step that deleted hooks (until ``monkeypatch.undo()``)."""
    run = Executor.run

    async def dies_after_hook_deletions(self, step):
        outcomes = await run(self, step)
        if any(isinstance(a, Delete) and a.purpose is Purpose.DELETE_HOOK for a in step.actions):
            raise Died
        return outcomes

    monkeypatch.setattr(Executor, "run", dies_after_hook_deletions)


async def test_death_right_after_deleting_hooks_resumes_without_running_them_again(
    apps, git_server, kube, passes, monkeypatch
):
    pre = generated_pre_hook()
    repo = git_server.repo("death", files(app=[cm("c")], hooks=[pre]))
    name, ns = unique("death"), unique("ns")
    apps.create(app_manifest(name, repo=repo.url, namespace=ns, sync_options=OPTIONS))
    apps.patch(name, {"operation": {"sync": {}, "initiatedBy": {"username": "ann"}}})

    die_after_deleting_hooks(monkeypatch)
    with pytest.raises(Died):
        await passes.until(name, finished)
    monkeypatch.undo()
    assert (await kube.list("batch/v1", "Job", namespace=ns)).items == []  # the hook is gone already

    app = await passes.until(name, finished, what="the operation ends after the restart")
    state = op_state(app)
    assert (state["phase"], state.get("retryCount", 0)) == ("Succeeded", 0), state["message"]
    hooks = [r for r in state["syncResult"]["resources"] if r.get("hookType")]
    assert [(r["hookPhase"], r["name"].startswith("pre-")) for r in hooks] == [("Succeeded", True)]
    assert (await kube.list("batch/v1", "Job", namespace=ns)).items == []  # and it never ran again


async def test_cli_death_right_after_deleting_hooks_resumes_without_running_them_again(kube, tmp_path, monkeypatch):
    pre = generated_pre_hook()
    source = tmp_path / "src"
    source.mkdir()
    for file, text in files(app=[cm("c")], hooks=[pre]).items():
        (source / file).write_text(text)
    name, ns = unique("clidie"), unique("ns")
    request = SyncRequest(
        app=name,
        source=sources.SourceSpec(repoURL=str(source)),
        source_json={"repoURL": str(source)},
        namespace=ns,
        sync_options=("CreateNamespace=true",),
    )
    die_after_deleting_hooks(monkeypatch)
    first = Syncer(kube, request)
    with pytest.raises(Died):
        await first.run()
    await first.close()
    monkeypatch.undo()

    second = Syncer(kube, request)
    try:
        state = await second.run()
    finally:
        await second.close()
    assert second.resumed
    assert state.phase is OperationPhase.SUCCEEDED, state.message
    assert [r.hook_phase for r in state.results if r.hook_type is not None] == [OperationPhase.SUCCEEDED]
    assert (await kube.list("batch/v1", "Job", namespace=ns)).items == []


async def test_operation_applies_to_the_destination_and_records_in_the_home_cluster(
    apps, git_server, kube, second_cluster, tmp_path
):
    repo = git_server.repo("remote", hooked("far"))
    name, ns = unique("remote"), unique("ns")
    apps.create(app_manifest(name, repo=repo.url, namespace=ns, sync_options=OPTIONS))
    apps.patch(name, {"operation": {"sync": {}, "initiatedBy": {"username": "ann"}}})
    async with Kube.from_kubeconfig(second_cluster.kubeconfig) as far:
        remote = Passes(kube, tmp_path, dest=far)
        try:
            app = await remote.until(name, finished)
        finally:
            await remote.close()
        assert phase(app) == "Succeeded", op_state(app)["message"]
        assert (await live(far, "ConfigMap", "settings", ns))["data"] == {"k": "far"}
        assert (await far.list("batch/v1", "Job", namespace=ns)).items  # the PreSync hook ran there
        assert await live(kube, "ConfigMap", "settings", ns) is None  # nothing landed at home
        assert await apps_of(far) == []  # and the Application stayed at home
    assert app["status"]["history"][0]["revision"] == repo.head()


async def apps_of(kube: Kube) -> list[str]:
    try:
        found = await kube.list(application.API_VERSION, application.KIND, namespace=application.APP_NAMESPACE)
    except (NotFound, UnknownKind):
        return []
    return [a["metadata"]["name"] for a in found.items]
