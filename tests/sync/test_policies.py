"""Delete policies are judged on the operation's outcome, not the hook's own (spec §8, argo-cd#27506)."""

from __future__ import annotations

import pytest

from tiphys.controller import InvalidInput
from tiphys.engine import OperationPhase

from .conftest import HOOK, POLICY, WAVE, configmap, job, write

pytestmark = pytest.mark.asyncio(loop_scope="session")


def hooks(*, breaking: bool) -> list[dict]:
    return [
        job("on-success", **{HOOK: "PreSync", POLICY: "HookSucceeded"}),
        job("on-failure", **{HOOK: "PreSync", POLICY: "HookFailed"}),
        job("default", **{HOOK: "PreSync"}),
        job(generate="gen-", **{HOOK: "PreSync", POLICY: "HookSucceeded,HookFailed"}),
        job("last", script="exit 1" if breaking else "exit 0", **{HOOK: "PostSync"}),
        configmap("c"),
    ]


async def test_when_the_sync_succeeds_only_hook_succeeded_hooks_go(app, tmp_path):
    state = await app.sync(write(tmp_path / "repo", *hooks(breaking=False)))
    assert state.phase is OperationPhase.SUCCEEDED
    assert await app.names("Job", "batch/v1") == ["default", "last", "on-failure"]


async def test_when_the_sync_fails_hook_failed_hooks_go_even_those_that_succeeded(app, tmp_path):
    state = await app.sync(write(tmp_path / "repo", *hooks(breaking=True)))
    assert (state.phase, state.message) == (
        OperationPhase.FAILED,
        "one or more synchronization tasks completed unsuccessfully",
    )
    assert [r.hook_phase.value for r in state.results if r.name == "on-failure"] == ["Succeeded"]
    assert await app.names("Job", "batch/v1") == ["default", "last", "on-success"]


async def test_before_hook_creation_replaces_the_hook_of_the_previous_sync(app, tmp_path):
    directory = write(
        tmp_path / "repo", job("named", **{HOOK: "PreSync", POLICY: "BeforeHookCreation"}), configmap("c")
    )
    await app.sync(directory)
    first = await app.get("Job", "named", "batch/v1")
    state = await app.sync(directory)
    assert state.phase is OperationPhase.SUCCEEDED
    second = await app.get("Job", "named", "batch/v1")
    assert second["metadata"]["uid"] != first["metadata"]["uid"]
    assert "waiting for deletion of hook batch/Job/named" in app.messages()


async def test_without_before_hook_creation_a_completed_named_hook_is_reused(app, tmp_path):
    # gotcha 4: the Job is re-applied unchanged and its old completion counts.
    directory = write(tmp_path / "repo", job("kept", **{HOOK: "PreSync", POLICY: "HookFailed"}), configmap("c"))
    await app.sync(directory)
    first = await app.get("Job", "kept", "batch/v1")
    state = await app.sync(directory)
    assert state.phase is OperationPhase.SUCCEEDED
    assert (await app.get("Job", "kept", "batch/v1"))["metadata"]["uid"] == first["metadata"]["uid"]


async def test_generate_name_hooks_get_a_new_object_per_operation(app, tmp_path):
    directory = write(tmp_path / "repo", job(generate="run-", **{HOOK: "PreSync"}), configmap("c", **{WAVE: "1"}))
    first = await app.sync(directory)
    second = await app.sync(directory)
    names = await app.names("Job", "batch/v1")
    assert len(names) == 2 and all(n.startswith("run-") for n in names)  # BeforeHookCreation finds no old one
    assert first.results[1].name != second.results[1].name


async def test_a_changed_named_hook_is_checked_as_a_new_object_and_recreated(app, tmp_path):
    # A Job's template is immutable: checking the new manifest as a patch of the old Job would
    # refuse it, though BeforeHookCreation deletes that Job before creating the new one.
    await app.sync(write(tmp_path / "v1", job("migrate", script="echo one", **{HOOK: "PreSync"}), configmap("c")))
    state = await app.sync(
        write(tmp_path / "v2", job("migrate", script="echo two", **{HOOK: "PreSync"}), configmap("c"))
    )
    assert state.phase is OperationPhase.SUCCEEDED, state.message
    live = await app.get("Job", "migrate", "batch/v1")
    assert live["spec"]["template"]["spec"]["containers"][0]["command"][-1] == "echo two"


async def test_a_changed_named_hook_with_an_invalid_manifest_is_still_refused(app, tmp_path):
    await app.sync(write(tmp_path / "v1", job("migrate", **{HOOK: "PreSync"}), configmap("c")))
    broken = job("migrate", **{HOOK: "PreSync"})
    broken["spec"]["template"]["spec"]["containers"][0]["image"] = 42
    with pytest.raises(InvalidInput, match="migrate"):
        await app.sync(write(tmp_path / "v2", broken, configmap("c")))
