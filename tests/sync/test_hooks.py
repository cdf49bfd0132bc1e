"""Each hook type against the embedded cluster, with Jobs that really run (spec §2, §3.2, §4.13)."""

from __future__ import annotations

import pytest

from tiphys.engine import OperationPhase

from .conftest import HOOK, WAVE, configmap, deployment, job, pod, result, write

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_presync_sync_postsync_run_in_order_around_the_resources(app, tmp_path):
    directory = write(
        tmp_path / "repo",
        job(generate="migrate-", script="echo migrating", **{HOOK: "PreSync"}),
        job("during", **{HOOK: "Sync"}),
        deployment("web"),
        configmap("settings"),
        job("smoke", script="echo smoke", **{HOOK: "PostSync"}),
    )
    state = await app.sync(directory)
    assert (state.phase, state.message) == (OperationPhase.SUCCEEDED, "successfully synced (no more tasks)")
    rows = [(r.sync_phase.value, r.kind, r.hook_type.value if r.hook_type else "") for r in state.results]
    assert rows == [
        ("PreSync", "Namespace", ""),
        ("PreSync", "Job", "PreSync"),
        ("Sync", "ConfigMap", ""),
        ("Sync", "Deployment", ""),
        ("Sync", "Job", "Sync"),
        ("PostSync", "Job", "PostSync"),
    ]
    presync = state.results[1]
    revision = state.sync_result.revision
    assert presync.name == f"migrate-{revision[:7]}-presync-{int(state.started_at.timestamp())}"
    assert presync.hook_phase is OperationPhase.SUCCEEDED
    messages = app.messages()
    assert f"waiting for completion of hook batch/Job/{presync.name}" in messages
    assert "waiting for healthy state of apps/Deployment/web" not in messages  # the Sync hook is awaited instead
    # The Sync hook is named while it runs, alone or "and N more resources" (whether the Deployment
    # turns healthy before the hook's Job completes is a race), and before the PostSync hook.
    during = [i for i, m in enumerate(messages) if m.startswith("waiting for completion of hook batch/Job/during")]
    assert during, messages
    assert messages.index("waiting for completion of hook batch/Job/smoke") > during[0]
    assert await app.names("Job", "batch/v1") == sorted([presync.name, "during", "smoke"])  # default policy keeps


async def test_a_failed_presync_stops_the_sync_and_runs_sync_fail_hooks(app, tmp_path):
    directory = write(
        tmp_path / "repo",
        job("check", script="echo health check failed; exit 3", **{HOOK: "PreSync"}),
        configmap("never"),
        job("on-failure", script="echo cleaning up", **{HOOK: "SyncFail"}),
    )
    state = await app.sync(directory)
    assert (state.phase, state.message) == (
        OperationPhase.FAILED,
        "one or more synchronization tasks completed unsuccessfully",
    )
    check = result(state, "check")
    assert check.hook_phase is OperationPhase.FAILED
    assert check.logs == "health check failed"  # Tiphys extension: the failing container's last lines
    assert check.message.endswith("\nhealth check failed")
    assert result(state, "on-failure").hook_phase is OperationPhase.SUCCEEDED
    assert await app.get("ConfigMap", "never") is None


async def test_skip_and_unknown_hook_types_are_not_applied_and_unknown_ones_are_warned(app, tmp_path):
    directory = write(
        tmp_path / "repo",
        configmap("skipped", **{HOOK: "Skip"}),
        configmap("typo", **{HOOK: "presync"}),
        configmap("kept"),
    )
    state = await app.sync(directory)
    assert state.phase is OperationPhase.SUCCEEDED
    assert "kept" in await app.names("ConfigMap") and "skipped" not in await app.names("ConfigMap")
    assert [r.name for r in state.results if r.kind == "ConfigMap"] == ["kept"]
    assert any("presync" in w and "did you mean PreSync" in w for w in state.sync_result.warnings)


async def test_one_object_with_two_hook_types_runs_in_both_phases(app, tmp_path):
    # A named hook in PreSync and PostSync is one object: BeforeHookCreation re-creates it (gotcha 5).
    directory = write(tmp_path / "repo", job("twice", script="echo run", **{HOOK: "PreSync,PostSync"}), configmap("c"))
    state = await app.sync(directory)
    assert state.phase is OperationPhase.SUCCEEDED
    assert [(r.name, r.sync_phase.value, r.hook_phase.value) for r in state.results if r.kind == "Job"] == [
        ("twice", "PreSync", "Succeeded"),
        ("twice", "PostSync", "Succeeded"),
    ]
    assert "waiting for deletion of hook batch/Job/twice" in app.messages()


async def test_a_pod_hook_runs_to_completion(app, tmp_path):
    directory = write(
        tmp_path / "repo",
        pod("probe", simulate="exit=0,after=0.2s", **{HOOK: "PreSync"}),
        configmap("c", **{WAVE: "1"}),
    )
    state = await app.sync(directory)
    assert state.phase is OperationPhase.SUCCEEDED
    assert result(state, "probe").hook_phase is OperationPhase.SUCCEEDED
