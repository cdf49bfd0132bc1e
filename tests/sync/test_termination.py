"""Ending an operation early: termination, the operation timeout and per-hook timeouts (spec §7.3)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from tiphys.controller import API_VERSION, APP_NAMESPACE, KIND
from tiphys.engine import OperationPhase
from tiphys.kube import PatchType

from .conftest import HOOK, configmap, job, result, write

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _until_job_runs(app, name_prefix: str) -> str:
    for _ in range(400):
        names = [n for n in await app.names("Job", "batch/v1") if n.startswith(name_prefix)]
        if names:
            return names[0]
        await asyncio.sleep(0.025)
    raise AssertionError("the hook never started")


async def test_terminating_deletes_the_running_hook_and_fails_the_operation(app, tmp_path):
    directory = write(tmp_path / "repo", job(generate="slow-", script="sleep 30", **{HOOK: "PreSync"}), configmap("c"))
    running = asyncio.create_task(app.sync(directory))
    name = await _until_job_runs(app, "slow-")
    patch = [{"op": "replace", "path": "/status/operationState/phase", "value": "Terminating"}]
    await app.kube.patch(API_VERSION, KIND, app.name, patch, namespace=APP_NAMESPACE, patch_type=PatchType.JSON)
    state = await asyncio.wait_for(running, 20)
    assert (state.phase, state.message) == (OperationPhase.FAILED, "Operation terminated")
    hook = result(state, name)
    assert (hook.hook_phase, hook.message) == (OperationPhase.FAILED, "Terminated")
    assert await app.get("ConfigMap", "c") is None
    for _ in range(200):
        if name not in await app.names("Job", "batch/v1"):
            break
        await asyncio.sleep(0.05)
    assert name not in await app.names("Job", "batch/v1")
    stored = await app.kube.get(API_VERSION, KIND, app.name, namespace=APP_NAMESPACE)
    assert stored["status"]["operationState"]["message"] == "Operation terminated"


async def test_the_operation_timeout_terminates_it_and_says_so(app, tmp_path):
    directory = write(tmp_path / "repo", job("slow", script="sleep 30", **{HOOK: "PreSync"}), configmap("c"))
    # Long enough for the hook to be started on a loaded machine, far shorter than the hook.
    state = await app.sync(directory, timeout=timedelta(seconds=3))
    assert (state.phase, state.message) == (
        OperationPhase.FAILED,
        "Operation terminated, triggered by sync timeout of 3s expired",
    )
    assert result(state, "slow").message == "Terminated"


async def test_a_hook_timeout_fails_only_that_hook_run(app, tmp_path):
    slow = job("stuck", script="echo started; sleep 30", **{HOOK: "PreSync", "tiphys.io/hook-timeout": "1s"})
    state = await app.sync(write(tmp_path / "repo", slow, configmap("c")))
    assert (state.phase, state.message) == (
        OperationPhase.FAILED,
        "one or more synchronization tasks completed unsuccessfully",
    )
    stuck = result(state, "stuck")
    assert stuck.hook_phase is OperationPhase.FAILED
    assert stuck.message.startswith("hook timed out after 1s")
    assert stuck.logs == "started"
