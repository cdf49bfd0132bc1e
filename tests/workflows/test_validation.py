"""Bad input is rejected at submit with upstream's message, and no pod is ever made (§1.2, §3.4, §7.3)."""

from __future__ import annotations

import pytest
import yaml

from .conftest import pods_of, run, sh, unique, workflow
from .test_cli import Cli

OK = sh("ok", "true")


def dag(*tasks: dict) -> dict:
    return {"name": "main", "dag": {"tasks": list(tasks)}}


CASES = [
    pytest.param(
        workflow(
            "main",
            dag(
                {"name": "a", "template": "ok", "dependencies": ["b"]},
                {"name": "b", "template": "ok", "dependencies": ["a"]},
            ),
            OK,
        ),
        "invalid spec: templates.main sorting failed: graph with cycle",
        id="cycle",
    ),
    pytest.param(
        workflow("main", dag({"name": "a", "template": "ok", "dependencies": ["ghost"]}), OK),
        "invalid spec: templates.main sorting failed: invalid dependency ghost",
        id="unknown-dependency",
    ),
    pytest.param(
        workflow("main", dag({"name": "a", "template": "nope"}), OK),
        "invalid spec: templates.main.tasks.a template name 'nope' undefined",
        id="unknown-template",
    ),
    pytest.param(
        workflow("main", {"name": "main", "steps": [[{"name": "a", "template": "ok"}]]}, OK, OK),
        "invalid spec: spec.templates[2].name 'ok' is not unique",
        id="duplicate-template",
    ),
    pytest.param(
        workflow("main", dag({"name": "a", "template": "ok"}, {"name": "a", "template": "ok"}), OK),
        "invalid spec: templates.main.tasks[1].name 'a' is not unique",
        id="duplicate-task",
    ),
    pytest.param(
        workflow("main", sh("main", "echo {{=1 +}}")),
        "invalid spec: templates.main: invalid expression '1 +': unexpected token EOF",
        id="invalid-expression",
    ),
    pytest.param(
        workflow(
            "main", dag({"name": "a", "template": "ok"}, {"name": "b", "template": "ok", "depends": "a.Bogus"}), OK
        ),
        "invalid spec: templates.main.tasks.b task result 'Bogus' for task 'a' is invalid",
        id="invalid-depends",
    ),
    pytest.param(
        {**workflow("main", OK), "spec": {"templates": [OK]}},
        "invalid spec: spec.entrypoint is required",
        id="no-entrypoint",
    ),
]


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("manifest, message", CASES)
async def test_created_directly_it_fails_with_the_message_and_no_pod(kube, wf_namespace, manifest, message):
    manifest = {**manifest, "metadata": {"name": unique("bad")}}
    wf = await run(kube, wf_namespace, manifest)
    assert (wf["status"]["phase"], wf["status"]["message"]) == ("Failed", message)
    assert not wf["status"].get("nodes")
    assert wf["metadata"]["labels"]["workflows.argoproj.io/completed"] == "true"
    assert await pods_of(kube, wf_namespace, manifest["metadata"]["name"]) == []


@pytest.mark.parametrize("manifest, message", CASES[:3] + CASES[5:6])
def test_the_cli_refuses_it_with_exit_2_and_creates_nothing(
    cluster, wf_controller, wf_namespace, tmp_path, manifest, message
):
    cli = Cli(cluster.kubeconfig, wf_namespace)
    name = unique("refused")
    path = tmp_path / "wf.yaml"
    path.write_text(yaml.safe_dump({**manifest, "metadata": {"name": name}}))
    done = cli("submit", str(path), "--wait")
    assert done.returncode == 2
    assert f"invalid: {message}" in done.stderr
    assert cli("get", name).returncode == 1  # never created
