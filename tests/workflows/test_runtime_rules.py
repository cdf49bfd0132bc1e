"""The runtime's pure parts with dicts: retry's reset, the failure message, the node tree; and the work queue."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from tiphys.workflows.runtime.queue import WorkQueue
from tiphys.workflows.runtime.retry import RetryError, formulate_retry
from tiphys.workflows.runtime.summary import failure_message, with_failure_message
from tiphys.workflows.runtime.tree import duration_text, node_rows
from tiphys.workflows.runtime.views import columns

NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)


def node(node_id: str, display: str, kind: str, phase: str, *children: str, **extra) -> dict:
    return {
        "id": node_id,
        "name": f"wf.{display}" if node_id != "wf" else "wf",
        "displayName": display,
        "type": kind,
        "phase": phase,
        "children": list(children),
        "startedAt": "2026-11-26T11:00:00Z",
        "finishedAt": "2026-11-26T11:00:05Z",
        **extra,
    }


def failed_dag() -> dict:
    """wf (DAG) -> a (ok) -> b (failed) -> c (omitted); wf.onExit ran."""
    nodes = {
        "wf": node("wf", "wf", "DAG", "Failed", "wf-a", outboundNodes=["wf-c"]),
        "wf-a": node("wf-a", "a", "Pod", "Succeeded", "wf-b", boundaryID="wf"),
        "wf-b": node("wf-b", "b", "Pod", "Failed", "wf-c", boundaryID="wf", message="main: Error (exit code 1)"),
        "wf-c": node("wf-c", "c", "Skipped", "Omitted", boundaryID="wf", message="omitted: depends condition not met"),
        "wf-x": {**node("wf-x", "wf.onExit", "Pod", "Succeeded"), "name": "wf.onExit", "nodeFlag": {"hooked": True}},
    }
    return {
        "metadata": {
            "name": "wf",
            "labels": {"workflows.argoproj.io/completed": "true", "workflows.argoproj.io/phase": "Failed"},
        },
        "spec": {"entrypoint": "main"},
        "status": {"phase": "Failed", "finishedAt": "2026-11-26T11:00:06Z", "nodes": nodes, "message": "x"},
    }


def test_retry_removes_the_failed_pod_and_what_follows_and_resets_its_groups():
    retried = formulate_retry(failed_dag(), NOW)
    status = retried.workflow["status"]
    assert retried.deleted_nodes == {"wf-b", "wf-c", "wf-x"}
    assert set(status["nodes"]) == {"wf", "wf-a"}
    assert status["nodes"]["wf"]["phase"] == "Running" and "finishedAt" not in status["nodes"]["wf"]
    assert status["nodes"]["wf"]["outboundNodes"] == []
    assert status["nodes"]["wf-a"]["children"] == []
    assert status["nodes"]["wf-a"]["phase"] == "Succeeded"  # kept as it was
    assert status["phase"] == "Running" and "message" not in status and "finishedAt" not in status
    labels = retried.workflow["metadata"]["labels"]
    assert "workflows.argoproj.io/completed" not in labels and labels["workflows.argoproj.io/phase"] == "Running"
    assert {"type": "Completed", "status": "False"} in status["conditions"]


def test_a_failed_attempt_is_retried_through_its_retry_node():
    wf = failed_dag()
    nodes = wf["status"]["nodes"]
    nodes["wf-b"] = node("wf-b", "b", "Retry", "Failed", "wf-b0", "wf-b1", boundaryID="wf")
    nodes["wf-b0"] = node("wf-b0", "b(0)", "Pod", "Failed", nodeFlag={"retried": True})
    nodes["wf-b1"] = node("wf-b1", "b(1)", "Pod", "Failed", "wf-c", nodeFlag={"retried": True})
    retried = formulate_retry(wf, NOW)
    assert {"wf-b", "wf-b0", "wf-b1", "wf-c"} <= retried.deleted_nodes


@pytest.mark.parametrize("phase", ["Succeeded", "Running", ""])
def test_only_a_failed_or_errored_workflow_can_be_retried(phase):
    wf = failed_dag()
    wf["status"]["phase"] = phase
    with pytest.raises(RetryError, match=f"Cannot retry a workflow in phase {phase or 'Pending'}"):
        formulate_retry(wf, NOW)


def test_a_failure_without_message_names_the_failed_node():
    wf = failed_dag()
    del wf["status"]["message"]
    assert failure_message(wf) == "b failed: main: Error (exit code 1)"
    assert with_failure_message(wf)["status"]["message"] == "b failed: main: Error (exit code 1)"


def test_an_upstream_message_is_kept_and_a_success_gets_none():
    wf = failed_dag()
    assert with_failure_message(wf) is wf
    wf["status"] = {**wf["status"], "phase": "Succeeded", "message": ""}
    assert with_failure_message(wf) is wf


def test_the_tree_puts_tasks_under_their_dag_and_the_exit_handler_last():
    rows = node_rows(failed_dag())
    assert [row.label for row in rows] == ["✖ wf", "├─✔ a", "├─✖ b", "└─○ c", "✔ wf.onExit"]


@pytest.mark.parametrize(
    "started, finished, text",
    [
        pytest.param("2026-11-26T11:59:55Z", None, "5s", id="running"),
        pytest.param("2026-11-26T11:00:00Z", "2026-11-26T11:01:12Z", "1m12s", id="minutes"),
        pytest.param("2026-11-26T09:00:00Z", "2026-11-26T11:03:00Z", "2h3m", id="hours"),
        pytest.param(None, None, "", id="not-started"),
    ],
)
def test_durations_read_like_argos(started, finished, text):
    assert duration_text(started, finished, NOW) == text


def test_columns_are_aligned_and_never_cut():
    out = columns(["A", "BB"], [["long-value", "x"], ["y", "z"]])
    assert out.splitlines() == ["A           BB", "long-value  x", "y           z"]


@pytest.mark.asyncio
async def test_the_queue_never_runs_one_key_twice_at_once_and_merges_events():
    running: set[str] = set()
    overlaps = []
    calls: list[str] = []
    release = asyncio.Event()

    async def handle(key: str) -> None:
        if key in running:
            overlaps.append(key)
        running.add(key)
        calls.append(key)
        if key == "a" and calls.count("a") == 1:
            await release.wait()
        running.discard(key)

    queue: WorkQueue[str] = WorkQueue(handle, workers=4)
    worker = asyncio.create_task(queue.run())
    queue.add("a")
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    for _ in range(5):
        queue.add("a")  # while "a" runs: one more run afterwards, not five
    queue.add("b")
    await asyncio.sleep(0.01)
    assert calls.count("b") == 1 and calls.count("a") == 1  # "b" ran while "a" was still busy
    release.set()
    await asyncio.wait_for(queue.idle(), 5)
    worker.cancel()
    assert calls.count("a") == 2 and overlaps == []


@pytest.mark.asyncio
async def test_a_timed_requeue_fires_once_at_the_earliest_time():
    calls: list[float] = []
    loop = asyncio.get_running_loop()

    async def handle(key: str) -> None:
        calls.append(loop.time())

    queue: WorkQueue[str] = WorkQueue(handle, workers=1)
    worker = asyncio.create_task(queue.run())
    start = loop.time()
    queue.add_at("k", start + 0.2)
    queue.add_at("k", start + 0.05)
    queue.add_at("k", start + 0.3)
    await asyncio.sleep(0.5)
    worker.cancel()
    assert len(calls) == 1 and calls[0] - start >= 0.05
