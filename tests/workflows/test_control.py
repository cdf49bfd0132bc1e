"""Control flow against real pods: loops, when, depends, retries, exit handlers, deadlines, parallelism (§4-§7)."""

from __future__ import annotations

import itertools
import json
from datetime import datetime

import pytest

from .conftest import nodes, phases, pods_of, printed, run, sh, workflow

pytestmark = pytest.mark.asyncio(loop_scope="session")

ECHO = sh("echo", "echo {{inputs.parameters.m}}", inputs={"parameters": [{"name": "m"}]})


def arg(value: str) -> dict:
    return {"parameters": [{"name": "m", "value": value}]}


def seconds(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


async def test_with_items_expands_a_dag_task_into_a_task_group(kube, wf_namespace):
    main = {
        "name": "main",
        "dag": {
            "tasks": [{"name": "say", "template": "echo", "arguments": arg("{{item}}"), "withItems": ["a", "b", 3]}]
        },
    }
    wf = await run(kube, wf_namespace, workflow("main", main, ECHO))
    found = nodes(wf)
    assert found["say"]["type"] == "TaskGroup"
    assert {n: await printed(kube, wf_namespace, wf, n) for n in ("say(0:a)", "say(1:b)", "say(2:3)")} == {
        "say(0:a)": "a",
        "say(1:b)": "b",
        "say(2:3)": "3",
    }
    assert wf["status"]["phase"] == "Succeeded" and wf["status"]["progress"] == "3/3"


async def test_with_items_of_maps_exposes_their_fields_in_steps(kube, wf_namespace):
    items = [{"os": "debian", "v": 12}, {"os": "alpine", "v": 3}]
    main = {
        "name": "main",
        "steps": [[{"name": "os", "template": "echo", "arguments": arg("{{item.os}}-{{item.v}}"), "withItems": items}]],
    }
    wf = await run(kube, wf_namespace, workflow("main", main, ECHO))
    found = nodes(wf)
    assert found["os(0:os:debian,v:12)"]["phase"] == "Succeeded"
    assert await printed(kube, wf_namespace, wf, "os(0:os:debian,v:12)") == "debian-12"
    assert await printed(kube, wf_namespace, wf, "os(1:os:alpine,v:3)") == "alpine-3"


async def test_with_param_loops_over_a_json_result_and_aggregates_outputs(kube, wf_namespace):
    main = {
        "name": "main",
        "dag": {
            "tasks": [
                {"name": "gen", "template": "gen"},
                {
                    "name": "sq",
                    "template": "square",
                    "dependencies": ["gen"],
                    "arguments": arg("{{item}}"),
                    "withParam": "{{tasks.gen.outputs.result}}",
                },
                {
                    "name": "sum",
                    "template": "echo",
                    "dependencies": ["sq"],
                    "arguments": arg("{{tasks.sq.outputs.result}}"),
                },
            ]
        },
    }
    gen = sh("gen", "echo '[1, 2, 3]'")
    square = sh(
        "square", "echo $(({{inputs.parameters.m}} * {{inputs.parameters.m}}))", inputs={"parameters": [{"name": "m"}]}
    )
    wf = await run(kube, wf_namespace, workflow("main", main, gen, square, ECHO))
    assert wf["status"]["phase"] == "Succeeded"
    assert json.loads(nodes(wf)["sum"]["outputs"]["result"]) == [1, 4, 9]


async def test_an_empty_with_param_is_skipped(kube, wf_namespace):
    main = {
        "name": "main",
        "steps": [[{"name": "none", "template": "echo", "arguments": arg("{{item}}"), "withParam": "[]"}]],
    }
    wf = await run(kube, wf_namespace, workflow("main", main, ECHO))
    skipped = nodes(wf)["none"]
    assert (skipped["type"], skipped["phase"], skipped["message"]) == ("Skipped", "Skipped", "Skipped, empty params")
    assert wf["status"]["phase"] == "Succeeded"


async def test_with_sequence_counts_and_formats(kube, wf_namespace):
    main = {
        "name": "main",
        "steps": [
            [
                {
                    "name": "n",
                    "template": "echo",
                    "arguments": arg("{{item}}"),
                    "withSequence": {"start": "5", "end": "3", "format": "u%02d"},
                }
            ]
        ],
    }
    wf = await run(kube, wf_namespace, workflow("main", main, ECHO))
    pods = sorted(n["displayName"] for n in nodes(wf).values() if n["type"] == "Pod")
    assert pods == ["n(0:u05)", "n(1:u04)", "n(2:u03)"]  # start 5, end 3: counting down
    assert [await printed(kube, wf_namespace, wf, p) for p in pods] == ["u05", "u04", "u03"]


async def test_when_false_skips_and_a_failed_depends_omits(kube, wf_namespace):
    main = {
        "name": "main",
        "dag": {
            "tasks": [
                {"name": "flip", "template": "flip"},
                {
                    "name": "heads",
                    "template": "echo",
                    "arguments": arg("H"),
                    "depends": "flip",
                    "when": "{{tasks.flip.outputs.result}} == heads",
                },
                {
                    "name": "tails",
                    "template": "echo",
                    "arguments": arg("T"),
                    "depends": "flip",
                    "when": "{{tasks.flip.outputs.result}} == tails",
                },
                {"name": "rescue", "template": "echo", "arguments": arg("R"), "depends": "flip.Failed"},
                {"name": "after", "template": "echo", "arguments": arg("A"), "depends": "heads && tails"},
            ]
        },
    }
    wf = await run(kube, wf_namespace, workflow("main", main, sh("flip", "echo heads"), ECHO))
    found = nodes(wf)
    assert (found["tails"]["type"], found["tails"]["phase"]) == ("Skipped", "Skipped")
    assert found["tails"]["message"] == "when 'heads == tails' evaluated false"
    assert found["heads"]["phase"] == "Succeeded"
    assert (found["rescue"]["type"], found["rescue"]["phase"]) == ("Skipped", "Omitted")
    assert found["rescue"]["message"] == "omitted: depends condition not met"
    assert found["after"]["phase"] == "Succeeded"  # a Skipped dependency counts as satisfied
    assert wf["status"]["phase"] == "Succeeded"
    assert wf["status"]["progress"] == "3/3"  # Skipped and Omitted nodes are not counted


async def test_a_failure_handler_that_succeeds_absorbs_the_failure(kube, wf_namespace):
    main = {
        "name": "main",
        "dag": {
            "tasks": [
                {"name": "migrate", "template": "fail"},
                {"name": "rollback", "template": "echo", "arguments": arg("rolled back"), "depends": "migrate.Failed"},
                {"name": "celebrate", "template": "echo", "arguments": arg("yay"), "depends": "migrate.Succeeded"},
            ]
        },
    }
    wf = await run(kube, wf_namespace, workflow("main", main, sh("fail", "exit 1"), ECHO))
    assert phases(wf)["migrate"] == "Failed"
    assert phases(wf)["rollback"] == "Succeeded"
    assert phases(wf)["celebrate"] == "Omitted"
    # celebrate is an omitted leaf below a failed task: the failure flows to it, so the DAG fails.
    assert wf["status"]["phase"] == "Failed"


async def test_a_failed_task_stops_its_dependants_and_fails_the_dag(kube, wf_namespace):
    main = {
        "name": "main",
        "dag": {
            "tasks": [
                {"name": "a", "template": "fail"},
                {"name": "b", "template": "echo", "arguments": arg("b"), "dependencies": ["a"]},
            ]
        },
    }
    wf = await run(kube, wf_namespace, workflow("main", main, sh("fail", "exit 2"), ECHO))
    assert phases(wf)["a"] == "Failed"
    assert phases(wf).get("b", "Omitted") == "Omitted"
    assert wf["status"]["phase"] == "Failed"
    assert len(await pods_of(kube, wf_namespace, wf["metadata"]["name"])) == 1


async def test_a_retry_strategy_retries_until_success(kube, wf_namespace):
    flaky = sh("flaky", "echo attempt {{retries}}; [ {{retries}} -ge 2 ]", retryStrategy={"limit": 3})
    wf = await run(kube, wf_namespace, workflow("flaky", flaky))
    name = wf["metadata"]["name"]
    found = nodes(wf)
    root = found[name]
    assert (root["type"], root["phase"]) == ("Retry", "Succeeded")
    assert [found[f"{name}({i})"]["phase"] for i in range(3)] == ["Failed", "Failed", "Succeeded"]
    assert found[f"{name}(2)"]["nodeFlag"] == {"retried": True}
    assert await printed(kube, wf_namespace, wf, f"{name}(2)") == "attempt 2"
    assert wf["status"]["phase"] == "Succeeded" and wf["status"]["progress"] == "1/3"


async def test_retries_run_out(kube, wf_namespace):
    wf = await run(kube, wf_namespace, workflow("fail", sh("fail", "exit 1", retryStrategy={"limit": "1"})))
    root = wf["status"]["nodes"][wf["metadata"]["name"]]
    assert (root["phase"], root["message"]) == ("Failed", "No more retries left")
    assert (wf["status"]["phase"], wf["status"]["message"]) == ("Failed", "No more retries left")
    assert wf["status"]["progress"] == "0/2"


async def test_retry_policy_on_error_does_not_retry_a_failure(kube, wf_namespace):
    wf = await run(
        kube, wf_namespace, workflow("fail", sh("fail", "exit 1", retryStrategy={"limit": 3, "retryPolicy": "OnError"}))
    )
    name = wf["metadata"]["name"]
    assert [n for n in nodes(wf) if n.startswith(f"{name}(")] == [f"{name}(0)"]
    assert wf["status"]["phase"] == "Failed"


async def test_the_exit_handler_runs_after_a_failure_and_sees_the_status(kube, wf_namespace):
    report = sh("report", "echo {{workflow.status}}")
    wf = await run(kube, wf_namespace, workflow("fail", sh("fail", "exit 1"), report, onExit="report"))
    name = wf["metadata"]["name"]
    exit_node = nodes(wf)[f"{name}.onExit"]
    assert exit_node["phase"] == "Succeeded"
    assert await printed(kube, wf_namespace, wf, f"{name}.onExit") == "Failed"
    assert exit_node["nodeFlag"] == {"hooked": True}
    assert wf["status"]["phase"] == "Failed"
    pods = {p["metadata"]["name"]: p for p in await pods_of(kube, wf_namespace, name)}
    assert (
        pods[f"{name}-report-{exit_node['id'].rsplit('-', 1)[1]}"]["metadata"]["labels"][
            "workflows.argoproj.io/on-exit"
        ]
        == "true"
    )


async def test_a_failing_exit_handler_fails_a_successful_workflow(kube, wf_namespace):
    wf = await run(kube, wf_namespace, workflow("ok", sh("ok", "true"), sh("bad", "exit 4"), onExit="bad"))
    assert wf["status"]["phase"] == "Failed"
    assert wf["status"]["message"] == "main: Error (exit code 4)"


async def test_a_task_level_exit_hook_runs_after_its_task(kube, wf_namespace):
    main = {
        "name": "main",
        "dag": {
            "tasks": [
                {
                    "name": "work",
                    "template": "echo",
                    "arguments": arg("w"),
                    "hooks": {"exit": {"template": "echo", "arguments": arg("{{tasks.work.status}}")}},
                },
                {"name": "next", "template": "echo", "arguments": arg("n"), "dependencies": ["work"]},
            ]
        },
    }
    wf = await run(kube, wf_namespace, workflow("main", main, ECHO))
    found = nodes(wf)
    hook = next(n for n in found.values() if n["name"].endswith(".work.onExit"))
    assert hook["phase"] == "Succeeded" and hook["nodeFlag"] == {"hooked": True}
    assert await printed(kube, wf_namespace, wf, hook["displayName"]) == "Succeeded"
    assert hook["finishedAt"] <= found["next"]["startedAt"]
    assert wf["status"]["phase"] == "Succeeded"


async def test_the_workflow_deadline_fails_running_pods(kube, wf_namespace):
    wf = await run(
        kube,
        wf_namespace,
        workflow("slow", sh("slow", "sleep 60"), sh("after", "echo cleanup"), activeDeadlineSeconds=2, onExit="after"),
    )
    name = wf["metadata"]["name"]
    root = wf["status"]["nodes"][name]
    assert root["phase"] == "Failed"
    assert root["message"] in (
        "Step exceeded its deadline",
        "Pod was active on the node longer than the specified deadline",
    )
    assert nodes(wf)[f"{name}.onExit"]["phase"] == "Succeeded"  # the exit handler still runs
    assert wf["status"]["phase"] == "Failed"
    assert seconds(wf["status"]["finishedAt"]) - seconds(wf["status"]["startedAt"]) < 40


async def test_parallelism_limits_pods_running_at_once(kube, wf_namespace):
    main = {"name": "main", "parallelism": 1, "steps": [[{"name": f"s{i}", "template": "nap"} for i in range(3)]]}
    wf = await run(kube, wf_namespace, workflow("main", main, sh("nap", "sleep 1.2")))
    pods = sorted((n for n in nodes(wf).values() if n["type"] == "Pod"), key=lambda n: n["startedAt"])
    assert len(pods) == 3
    for before, after in itertools.pairwise(pods):
        assert before["finishedAt"] <= after["startedAt"]
    assert seconds(wf["status"]["finishedAt"]) - seconds(wf["status"]["startedAt"]) >= 3
