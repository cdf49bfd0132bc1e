"""Every variable family (§3.3) resolved in real pods, and the failures for unresolved ones (§3.4)."""

from __future__ import annotations

import json

import pytest

from .conftest import nodes, pods_of, printed, run, sh, unique, workflow

pytestmark = pytest.mark.asyncio(loop_scope="session")


def arg(name: str, value: str) -> dict:
    return {"parameters": [{"name": name, "value": value}]}


async def test_workflow_metadata_and_global_parameters(kube, wf_namespace):
    show = sh(
        "show",
        "echo {{workflow.name}} {{workflow.namespace}} {{workflow.uid}} {{workflow.parameters.env}} "
        "{{inputs.parameters.env}} {{workflow.labels.team}} {{workflow.mainEntrypoint}}",
        inputs={"parameters": [{"name": "env"}]},
    )
    manifest = workflow("show", show, arguments={"parameters": [{"name": "env", "value": "staging"}]})
    manifest["metadata"]["labels"] = {"team": "db"}
    wf = await run(kube, wf_namespace, manifest)
    name = wf["metadata"]["name"]
    result = await printed(kube, wf_namespace, wf, name)
    assert result == f"{name} {wf_namespace} {wf['metadata']['uid']} staging staging db show"


async def test_enum_defaults_and_non_string_arguments(kube, wf_namespace):
    show = sh(
        "show",
        "echo {{inputs.parameters.size}} {{inputs.parameters.count}} {{workflow.parameters.flag}}",
        inputs={"parameters": [{"name": "size", "default": "small", "enum": ["small", "large"]}, {"name": "count"}]},
    )
    main = {
        "name": "main",
        "steps": [[{"name": "s", "template": "show", "arguments": {"parameters": [{"name": "count", "value": 5}]}}]],
    }
    manifest = workflow("main", main, show, arguments={"parameters": [{"name": "flag", "value": True}]})
    wf = await run(kube, wf_namespace, manifest)
    assert await printed(kube, wf_namespace, wf, "s") == "small 5 true"


async def test_output_parameters_from_files_flow_to_later_tasks(kube, wf_namespace):
    produce = sh(
        "produce",
        "printf 'v1.2.3\\n' > /tmp/version; echo done",
        outputs={
            "parameters": [
                {"name": "version", "valueFrom": {"path": "/tmp/version"}},
                {"name": "missing", "valueFrom": {"path": "/tmp/nope", "default": "fallback"}},
            ]
        },
    )
    consume = sh("consume", "echo {{inputs.parameters.v}}", inputs={"parameters": [{"name": "v"}]})
    main = {
        "name": "main",
        "dag": {
            "tasks": [
                {"name": "a", "template": "produce"},
                {
                    "name": "b",
                    "template": "consume",
                    "dependencies": ["a"],
                    "arguments": arg(
                        "v",
                        "{{tasks.a.outputs.parameters.version}}/{{tasks.a.outputs.parameters.missing}}/{{tasks.a.outputs.result}}",
                    ),
                },
            ]
        },
    }
    wf = await run(kube, wf_namespace, workflow("main", main, produce, consume))
    found = nodes(wf)
    outputs = {p["name"]: p["value"] for p in found["a"]["outputs"]["parameters"]}
    assert outputs == {"version": "v1.2.3", "missing": "fallback"}
    assert found["b"]["outputs"]["result"] == "v1.2.3/fallback/done"


async def test_a_missing_output_file_without_default_errors_the_node(kube, wf_namespace):
    produce = sh("produce", "true", outputs={"parameters": [{"name": "x", "valueFrom": {"path": "/tmp/absent"}}]})
    wf = await run(kube, wf_namespace, workflow("produce", produce))
    root = wf["status"]["nodes"][wf["metadata"]["name"]]
    assert root["phase"] == "Error"
    assert "no such file or directory" in root["message"]
    assert wf["status"]["phase"] == "Error"


async def test_steps_outputs_and_step_metadata(kube, wf_namespace):
    main = {
        "name": "main",
        "steps": [
            [{"name": "gen", "template": "gen"}],
            [
                {
                    "name": "use",
                    "template": "use",
                    "arguments": arg("m", "{{steps.gen.outputs.result}} {{steps.gen.status}} {{steps.gen.exitCode}}"),
                }
            ],
        ],
    }
    gen = sh("gen", "echo generated")
    use = sh("use", "echo {{inputs.parameters.m}}", inputs={"parameters": [{"name": "m"}]})
    wf = await run(kube, wf_namespace, workflow("main", main, gen, use))
    assert nodes(wf)["use"]["outputs"]["result"] == "generated Succeeded 0"


async def test_expressions_and_pod_name(kube, wf_namespace):
    calc = sh(
        "calc",
        "echo {{=asInt(inputs.parameters.n) * 2}} {{=sprig.upper(inputs.parameters.word)}} "
        "{{=toJson([1, 2])}} {{pod.name}} $HOSTNAME",
        inputs={"parameters": [{"name": "n", "value": "21"}, {"name": "word", "value": "argo"}]},
    )
    wf = await run(kube, wf_namespace, workflow("calc", calc))
    name = wf["metadata"]["name"]
    assert wf["status"]["nodes"][name]["outputs"]["result"] == f"42 ARGO [1,2] {name} {name}"


async def test_expression_over_task_outputs_with_hyphenated_names(kube, wf_namespace):
    main = {
        "name": "main",
        "dag": {
            "tasks": [
                {"name": "gen-a", "template": "gen"},
                {
                    "name": "use",
                    "template": "use",
                    "dependencies": ["gen-a"],
                    "arguments": arg("m", "{{=tasks['gen-a'].outputs.result == '7' ? 'seven' : 'other'}}"),
                },
            ]
        },
    }
    wf = await run(
        kube,
        wf_namespace,
        workflow(
            "main",
            main,
            sh("gen", "echo 7"),
            sh("use", "echo {{inputs.parameters.m}}", inputs={"parameters": [{"name": "m"}]}),
        ),
    )
    assert nodes(wf)["use"]["outputs"]["result"] == "seven"


async def test_exit_handler_sees_the_failures(kube, wf_namespace):
    report = sh("report", "echo '{{workflow.failures}}'")
    wf = await run(kube, wf_namespace, workflow("boom", sh("boom", "exit 5"), report, onExit="report"))
    name = wf["metadata"]["name"]
    text = await printed(kube, wf_namespace, wf, f"{name}.onExit")
    failures = json.loads(json.loads(text)) if text.startswith('"') else json.loads(text)
    assert failures[0]["displayName"] == name and failures[0]["phase"] == "Failed"
    assert failures[0]["message"] == "main: Error (exit code 5)"


async def test_an_unresolved_input_fails_at_the_first_reconcile_without_pods(kube, wf_namespace):
    wf = await run(kube, wf_namespace, workflow("main", sh("main", "echo {{inputs.parameters.nope}}")))
    assert wf["status"]["phase"] == "Failed"
    assert wf["status"]["message"] == "invalid spec: templates.main: failed to resolve {{inputs.parameters.nope}}"
    assert await pods_of(kube, wf_namespace, wf["metadata"]["name"]) == []


async def test_other_roots_are_left_literally(kube, wf_namespace):
    wf = await run(kube, wf_namespace, workflow("main", sh("main", "echo '{{foo}}'")))
    assert await printed(kube, wf_namespace, wf, wf["metadata"]["name"]) == "{{foo}}"


async def test_a_parameter_not_supplied_is_refused(kube, wf_namespace):
    need = sh("need", "echo {{inputs.parameters.x}}", inputs={"parameters": [{"name": "x"}]})
    wf = await run(kube, wf_namespace, workflow("need", need, name=unique("need")))
    assert wf["status"]["phase"] == "Failed"
    assert wf["status"]["message"].startswith("invalid spec: ")
    assert "inputs.parameters.x was not supplied" in wf["status"]["message"]


async def test_time_and_node_variables(kube, wf_namespace):
    show = sh(
        "show",
        "echo {{workflow.creationTimestamp}} {{workflow.creationTimestamp.Y}} {{node.name}} "
        "{{workflow.serviceAccountName}}",
    )
    manifest = workflow("main", {"name": "main", "steps": [[{"name": "s", "template": "show"}]]}, show)
    manifest["spec"]["serviceAccountName"] = "default"
    wf = await run(kube, wf_namespace, manifest)
    name = wf["metadata"]["name"]
    created = wf["metadata"]["creationTimestamp"]
    assert await printed(kube, wf_namespace, wf, "s") == f"{created} {created[:4]} {name}[0].s default"


async def test_retry_expression_sees_the_last_attempt(kube, wf_namespace):
    flaky = sh(
        "flaky",
        "exit $(( {{retries}} == 0 ? 3 : 4 ))",
        retryStrategy={"limit": 5, "expression": "lastRetry.exitCode == '3'"},
    )
    wf = await run(kube, wf_namespace, workflow("flaky", flaky))
    name = wf["metadata"]["name"]
    attempts = sorted(n for n in nodes(wf) if n.startswith(f"{name}("))
    assert attempts == [f"{name}(0)", f"{name}(1)"]  # exit 3 is retried, exit 4 is not
    root = wf["status"]["nodes"][name]
    assert (root["phase"], root["message"]) == ("Failed", "retryStrategy.expression evaluated to false")
