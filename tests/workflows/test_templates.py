"""Every template type in scope, run by the controller process with real pods (spec §2, §8)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tiphys.kube import NotFound
from tiphys.workflows.naming import fnv32a

from .conftest import API, nodes, phases, pods_of, printed, run, sh, unique, workflow

pytestmark = pytest.mark.asyncio(loop_scope="session")

SEED = Path(__file__).resolve().parents[2] / "examples" / "seed-workflow" / "presync-workflow.yaml"


async def test_the_seed_dag_runs_task_2_after_task_1(kube, wf_namespace):
    manifest = yaml.safe_load(SEED.read_text())
    manifest["metadata"] = {"generateName": "seed-"}
    wf = await run(kube, wf_namespace, manifest)
    name = wf["metadata"]["name"]
    status = wf["status"]
    assert status["phase"] == "Succeeded" and status["progress"] == "2/2"
    assert wf["metadata"]["labels"]["workflows.argoproj.io/completed"] == "true"
    assert wf["metadata"]["labels"]["workflows.argoproj.io/phase"] == "Succeeded"
    assert status["startedAt"] <= status["finishedAt"]
    found = nodes(wf)
    task1, task2 = found["task-1"], found["task-2"]
    assert task1["id"] == f"{name}-{fnv32a(f'{name}.task-1')}"
    assert status["nodes"][name]["type"] == "DAG" and status["nodes"][name]["children"] == [task1["id"]]
    assert task1["children"] == [task2["id"]]
    assert status["nodes"][name]["outboundNodes"] == [task2["id"]]
    assert task1["finishedAt"] <= task2["startedAt"]
    assert task1["inputs"]["parameters"][0]["value"] == "task-1"
    assert (task1["type"], task1["templateName"], task1["boundaryID"]) == ("Pod", "echo", name)
    pods = {p["metadata"]["name"]: p for p in await pods_of(kube, wf_namespace, name)}
    pod = pods[f"{name}-echo-{fnv32a(f'{name}.task-1')}"]
    assert pod["metadata"]["annotations"]["workflows.argoproj.io/node-name"] == f"{name}.task-1"
    assert pod["metadata"]["annotations"]["workflows.argoproj.io/node-id"] == task1["id"]
    owner = pod["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == (
        "Workflow",
        name,
        wf["metadata"]["uid"],
        True,
    )
    assert pod["spec"]["restartPolicy"] == "Never"
    assert [c["name"] for c in pod["spec"]["containers"]] == ["main"]


async def test_a_container_entrypoint_is_one_pod_named_like_the_workflow(kube, wf_namespace):
    wf = await run(kube, wf_namespace, workflow("hello", sh("hello", "echo hello world")))
    name = wf["metadata"]["name"]
    root = wf["status"]["nodes"][name]
    assert (root["type"], root["phase"], root["displayName"]) == ("Pod", "Succeeded", name)
    assert root["outputs"] == {"exitCode": "0"}  # no template refers to a result: none is captured
    assert await printed(kube, wf_namespace, wf, name) == "hello world"
    assert [p["metadata"]["name"] for p in await pods_of(kube, wf_namespace, name)] == [name]
    assert wf["status"]["progress"] == "1/1"


async def test_a_failing_container_fails_the_workflow_with_its_exit_code(kube, wf_namespace):
    wf = await run(kube, wf_namespace, workflow("boom", sh("boom", "echo about to fail; exit 3")))
    name = wf["metadata"]["name"]
    root = wf["status"]["nodes"][name]
    assert (root["phase"], root["message"]) == ("Failed", "main: Error (exit code 3)")
    assert root["outputs"]["exitCode"] == "3"
    assert (wf["status"]["phase"], wf["status"]["message"]) == ("Failed", "main: Error (exit code 3)")
    assert wf["status"]["progress"] == "0/1"


async def test_a_script_runs_its_source_and_returns_stdout(kube, wf_namespace):
    script = {
        "name": "py",
        "inputs": {"parameters": [{"name": "n", "value": "4"}]},
        "script": {
            "image": "python:3.12",
            "command": ["python3"],
            "source": "n = {{inputs.parameters.n}}\nprint(n * n)\n",
        },
    }
    wf = await run(kube, wf_namespace, workflow("py", script))
    root = wf["status"]["nodes"][wf["metadata"]["name"]]
    assert (root["phase"], root["outputs"]["result"]) == ("Succeeded", "16")


async def test_steps_run_groups_in_order_and_steps_of_a_group_together(kube, wf_namespace):
    main = {
        "name": "main",
        "steps": [
            [{"name": "first", "template": "say", "arguments": {"parameters": [{"name": "m", "value": "one"}]}}],
            [
                {"name": "left", "template": "say", "arguments": {"parameters": [{"name": "m", "value": "two"}]}},
                {"name": "right", "template": "say", "arguments": {"parameters": [{"name": "m", "value": "three"}]}},
            ],
        ],
    }
    say = sh("say", "echo {{inputs.parameters.m}}", inputs={"parameters": [{"name": "m"}]})
    wf = await run(kube, wf_namespace, workflow("main", main, say))
    name = wf["metadata"]["name"]
    found = nodes(wf)
    assert phases(wf) == {
        name: "Succeeded",
        "[0]": "Succeeded",
        "first": "Succeeded",
        "[1]": "Succeeded",
        "left": "Succeeded",
        "right": "Succeeded",
    }
    assert found[name]["type"] == "Steps" and found["[0]"]["type"] == "StepGroup"
    assert found["[0]"]["name"] == f"{name}[0]" and found["first"]["name"] == f"{name}[0].first"
    assert found[name]["children"] == [found["[0]"]["id"]]
    assert found["[0]"]["children"] == [found["first"]["id"]]
    assert found["first"]["children"] == [found["[1]"]["id"]]
    assert sorted(found["[1]"]["children"]) == sorted([found["left"]["id"], found["right"]["id"]])
    assert await printed(kube, wf_namespace, wf, "right") == "three"
    assert wf["status"]["progress"] == "3/3"


async def test_a_suspend_with_a_duration_resumes_by_itself(kube, wf_namespace):
    main = {"name": "main", "steps": [[{"name": "pause", "template": "pause"}], [{"name": "after", "template": "ok"}]]}
    wf = await run(
        kube, wf_namespace, workflow("main", main, {"name": "pause", "suspend": {"duration": "1"}}, sh("ok", "true"))
    )
    pause = nodes(wf)["pause"]
    assert (pause["type"], pause["phase"]) == ("Suspend", "Succeeded")
    assert nodes(wf)["after"]["phase"] == "Succeeded"


async def test_a_resource_template_creates_an_object_owned_by_the_workflow(kube, wf_namespace):
    config = unique("cm")
    manifest = yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": config},
            "data": {"made-by": "{{workflow.name}}"},
        }
    )
    make = {
        "name": "make",
        "resource": {"action": "create", "manifest": manifest, "setOwnerReference": True},
        "outputs": {"parameters": [{"name": "uid", "valueFrom": {"jsonPath": "{.metadata.uid}"}}]},
    }
    wf = await run(kube, wf_namespace, workflow("make", make))
    name = wf["metadata"]["name"]
    root = wf["status"]["nodes"][name]
    assert root["phase"] == "Succeeded", root.get("message")
    live = await kube.get("v1", "ConfigMap", config, namespace=wf_namespace)
    assert live["data"] == {"made-by": name}
    assert live["metadata"]["ownerReferences"][0]["uid"] == wf["metadata"]["uid"]
    assert root["outputs"]["parameters"][0]["value"] == live["metadata"]["uid"]
    assert await pods_of(kube, wf_namespace, name) == []  # done through the API, no pod


async def test_a_resource_template_deletes_and_waits_for_a_condition(kube, wf_namespace):
    doomed = unique("cm")
    await kube.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": doomed}}, namespace=wf_namespace)
    delete = {
        "name": "delete",
        "resource": {
            "action": "delete",
            "manifest": yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": doomed}}),
        },
    }
    wf = await run(kube, wf_namespace, workflow("delete", delete))
    assert wf["status"]["phase"] == "Succeeded", wf["status"].get("message")
    with pytest.raises(NotFound):
        await kube.get("v1", "ConfigMap", doomed, namespace=wf_namespace)


async def test_an_unsupported_template_type_fails_at_submit_without_a_pod(kube, wf_namespace):
    http = {"name": "call", "http": {"url": "https://example.com"}}
    wf = await run(kube, wf_namespace, workflow("call", http))
    assert wf["status"]["phase"] in ("Failed", "Error")
    assert wf["status"]["message"].startswith("invalid spec: ")
    assert "http" in wf["status"]["message"]
    assert not wf["status"].get("nodes")
    assert await pods_of(kube, wf_namespace, wf["metadata"]["name"]) == []


async def test_workflow_crd_object_is_readable_by_kubectl_columns(kubectl, kube, wf_namespace):
    wf = await run(kube, wf_namespace, workflow("ok", sh("ok", "true")))
    out = kubectl("get", "wf", wf["metadata"]["name"], "-n", wf_namespace)
    assert out.split("\n")[0].split() == ["NAME", "STATUS", "AGE", "MESSAGE"]
    assert "Succeeded" in out.split("\n")[1]
    assert API in kubectl("get", "wf", wf["metadata"]["name"], "-n", wf_namespace, "-o", "yaml")


async def test_resource_apply_patch_and_get_with_a_success_condition(kube, wf_namespace):
    config = unique("cm")
    target = unique("target")
    await kube.create(workflow("ok", sh("ok", "true"), name=target), namespace=wf_namespace)

    def resource(name: str, action: str, obj: dict, **extra) -> dict:
        return {"name": name, "resource": {"action": action, "manifest": yaml.safe_dump(obj), **extra}}

    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": config}, "data": {"a": "1"}}
    templates = [
        resource("apply", "apply", cm),
        resource("patch", "patch", {**cm, "data": {"b": "2"}}, mergeStrategy="merge"),
        # A custom resource takes no strategic merge patch: the default strategy falls back to merge.
        resource(
            "label",
            "patch",
            {"apiVersion": API, "kind": "Workflow", "metadata": {"name": target, "labels": {"seen": "yes"}}},
        ),
        resource("check", "get", cm, successCondition="data.b == 2"),
    ]
    main = {"name": "main", "steps": [[{"name": t["name"], "template": t["name"]}] for t in templates]}
    wf = await run(kube, wf_namespace, workflow("main", main, *templates))
    assert wf["status"]["phase"] == "Succeeded", wf["status"].get("message")
    live = await kube.get("v1", "ConfigMap", config, namespace=wf_namespace)
    assert live["data"] == {"a": "1", "b": "2"}
    labelled = await kube.get(API, "Workflow", target, namespace=wf_namespace)
    assert labelled["metadata"]["labels"]["seen"] == "yes"


async def test_a_pod_the_server_refuses_errs_its_node(kube, wf_namespace):
    bad = {
        "name": "bad",
        "container": {"image": "busybox", "command": ["true"], "ports": [{"containerPort": "eighty"}]},
    }
    wf = await run(kube, wf_namespace, workflow("bad", bad))
    name = wf["metadata"]["name"]
    root = wf["status"]["nodes"][name]
    assert root["phase"] == "Error"
    assert "containerPort" in root["message"]
    assert (wf["status"]["phase"], wf["status"]["message"]) == ("Error", root["message"])
    assert await pods_of(kube, wf_namespace, name) == []
