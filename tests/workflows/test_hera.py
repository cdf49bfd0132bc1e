"""Hera compatibility: Workflows built with Hera's Python API (our own, written for these tests),
turned into manifests with ``to_dict()`` and run by Tiphys's controller to the expected phases and outputs.

Hera's scripts default to ``command: [python]``; the sandboxed kubelet runs host commands, where the
interpreter is ``python3``, so every script here names it. Nothing else is adapted.
"""

# No `from __future__ import annotations`: Hera reads the scripts' parameter annotations as classes.
import json

import pytest
from hera.workflows import DAG, Container, Parameter, Steps, Workflow, script
from hera.workflows.models import ContinueOn, RetryStrategy

from .conftest import nodes, phases, run

pytestmark = pytest.mark.asyncio(loop_scope="session")

PY = {"image": "python:3.12-alpine", "command": ["python3"]}


@script(**PY)
def announce(msg: str):
    print(f"announce: {msg}")


@script(**PY)
def numbers():
    import json

    print(json.dumps([{"n": 1}, {"n": 2}, {"n": 3}]))


@script(**PY)
def double(n: int):
    print(n * 2)


@script(**PY)
def flip():
    print("heads")


@script(retry_strategy=RetryStrategy(limit="3"), **PY)
def fail_first_two():
    import sys

    attempt = int("{{retries}}")  # the controller substitutes the attempt index into the source
    print(f"attempt {attempt}")
    sys.exit(0 if attempt >= 2 else 1)


@script(**PY)
def report(status: str):
    print(f"workflow ended {status}")


def echo_container() -> Container:
    return Container(
        name="echo",
        image="busybox",
        command=["sh", "-c", "echo {{inputs.parameters.m}}"],
        inputs=[Parameter(name="m")],
    )


def dag_workflow() -> Workflow:
    with Workflow(generate_name="hera-dag-", entrypoint="main") as w:
        echo = echo_container()
        with DAG(name="main"):
            migrate = echo(name="migrate", arguments={"m": "db"})
            seed = echo(name="seed", arguments={"m": "data"})
            done = announce(name="done", arguments={"msg": "{{tasks.seed.outputs.result}}"})
            migrate >> seed >> done
    return w


def steps_workflow() -> Workflow:
    with Workflow(generate_name="hera-steps-", entrypoint="main") as w:
        echo = echo_container()
        with Steps(name="main") as steps:
            echo(name="first", arguments={"m": "1"})
            with steps.parallel():
                echo(name="left", arguments={"m": "2a"})
                echo(name="right", arguments={"m": "2b"})
            announce(name="last", arguments={"msg": "{{steps.right.outputs.result}}"})
    return w


def loop_workflow() -> Workflow:
    with Workflow(generate_name="hera-loop-", entrypoint="main") as w, DAG(name="main"):
        gen = numbers(name="gen")
        each = double(name="each", arguments={"n": "{{item.n}}"}, with_param=gen.result)
        total = announce(name="total", arguments={"msg": "{{tasks.each.outputs.result}}"})
        gen >> each >> total
    return w


def conditional_workflow() -> Workflow:
    with Workflow(generate_name="hera-when-", entrypoint="main") as w:
        echo = echo_container()
        with DAG(name="main"):
            coin = flip(name="coin")
            heads = echo(name="heads", arguments={"m": "it was heads"})
            tails = echo(name="tails", arguments={"m": "it was tails"})
            heads.on_other_result(coin, "heads")
            tails.on_other_result(coin, "tails")
            broken = Container(name="broken", image="busybox", command=["sh", "-c", "exit 1"])(name="broken")
            rescue = echo(name="rescue", arguments={"m": "rescued"})
            celebrate = echo(name="celebrate", arguments={"m": "nothing broke"})
            broken.on_failure(rescue)
            broken.on_success(celebrate)
    return w


def retry_workflow() -> Workflow:
    with Workflow(generate_name="hera-retry-", entrypoint="main") as w, Steps(name="main"):
        fail_first_two(name="flaky")
    return w


def exit_handler_workflow() -> Workflow:
    with Workflow(generate_name="hera-exit-", entrypoint="main", on_exit="bye") as w:
        Container(name="main", image="busybox", command=["sh", "-c", "echo working; exit 2"])
        with Steps(name="bye"):
            report(name="report", arguments={"status": "{{workflow.status}}"})
    return w


def continue_on_workflow() -> Workflow:
    with Workflow(generate_name="hera-continue-", entrypoint="main") as w:
        echo = echo_container()
        broken = Container(name="broken", image="busybox", command=["sh", "-c", "exit 1"])
        with Steps(name="main"):
            broken(name="tolerated", continue_on=ContinueOn(failed=True))
            echo(name="after", arguments={"m": "still here"})
    return w


def by_display(wf: dict) -> dict[str, dict]:
    return nodes(wf)


async def test_hera_dag_with_a_script(kube, wf_namespace):
    wf = await run(kube, wf_namespace, dag_workflow().to_dict())
    assert wf["status"]["phase"] == "Succeeded"
    found = by_display(wf)
    assert found["seed"]["outputs"]["result"] == "data"
    assert found["done"]["outputs"]["result"] == "announce: data"
    assert found["migrate"]["children"] == [found["seed"]["id"]]


async def test_hera_steps_in_sequence_and_in_parallel(kube, wf_namespace):
    wf = await run(kube, wf_namespace, steps_workflow().to_dict())
    assert wf["status"]["phase"] == "Succeeded"
    found = by_display(wf)
    assert {found[n]["outputs"]["result"] for n in ("first", "left", "right")} == {"1", "2a", "2b"}
    assert found["last"]["outputs"]["result"] == "announce: 2b"
    assert found["left"]["boundaryID"] == found["right"]["boundaryID"]


async def test_hera_loop_over_a_script_result(kube, wf_namespace):
    wf = await run(kube, wf_namespace, loop_workflow().to_dict())
    assert wf["status"]["phase"] == "Succeeded"
    found = by_display(wf)
    assert found["each"]["type"] == "TaskGroup"
    assert [found[f"each({i}:n:{i + 1})"]["outputs"]["result"] for i in range(3)] == ["2", "4", "6"]
    # The aggregated result is the JSON list [2,4,6]; Hera's script loads it and prints a Python list.
    assert found["total"]["outputs"]["result"] == "announce: [2, 4, 6]"


async def test_hera_conditionals(kube, wf_namespace):
    wf = await run(kube, wf_namespace, conditional_workflow().to_dict())
    got = phases(wf)
    assert (got["heads"], got["tails"]) == ("Succeeded", "Skipped")
    assert (got["broken"], got["rescue"], got["celebrate"]) == ("Failed", "Succeeded", "Omitted")
    assert wf["status"]["phase"] == "Failed"  # the omitted celebrate leaf carries broken's failure


async def test_hera_retries(kube, wf_namespace):
    manifest = retry_workflow().to_dict()
    wf = await run(kube, wf_namespace, manifest)
    assert wf["status"]["phase"] == "Succeeded"
    found = by_display(wf)
    assert found["flaky"]["type"] == "Retry"
    assert [found[f"flaky({i})"]["phase"] for i in range(3)] == ["Failed", "Failed", "Succeeded"]
    assert found["flaky(2)"]["outputs"]["result"] == "attempt 2"


async def test_hera_exit_handler(kube, wf_namespace):
    wf = await run(kube, wf_namespace, exit_handler_workflow().to_dict())
    name = wf["metadata"]["name"]
    assert wf["status"]["phase"] == "Failed"
    found = by_display(wf)
    assert found[f"{name}.onExit"]["phase"] == "Succeeded"
    assert found["report"]["outputs"]["result"] == "workflow ended Failed"


async def test_hera_continue_on_failed(kube, wf_namespace):
    wf = await run(kube, wf_namespace, continue_on_workflow().to_dict())
    got = phases(wf)
    assert (got["tolerated"], got["after"]) == ("Failed", "Succeeded")
    assert wf["status"]["phase"] == "Succeeded"


async def test_hera_manifests_are_plain_workflows_that_validate():
    from tiphys.workflows.reconcile import validate

    for build in (
        dag_workflow,
        steps_workflow,
        loop_workflow,
        conditional_workflow,
        retry_workflow,
        exit_handler_workflow,
        continue_on_workflow,
    ):
        manifest = json.loads(json.dumps(build().to_dict()))  # plain data
        assert (manifest["apiVersion"], manifest["kind"]) == ("argoproj.io/v1alpha1", "Workflow")
        assert validate(manifest) == [], build.__name__
