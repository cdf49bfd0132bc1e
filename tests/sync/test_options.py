"""Sync options that change how objects are written, and Secrets kept out of every output (spec §11)."""

from __future__ import annotations

import json

import pytest

from tiphys.controller.differ import diff_app
from tiphys.engine import OperationPhase

from .conftest import HOOK, OPTIONS, WAVE, configmap, deployment, job, result, write

pytestmark = pytest.mark.asyncio(loop_scope="session")

SECRET = "hunter2-do-not-print"


async def test_a_failing_hook_log_is_kept_with_secret_values_masked(app, tmp_path):
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "annotations": {HOOK: "PreSync", WAVE: "-1"}},
        "stringData": {"password": SECRET},
    }
    check = job(
        "check", script=f'echo "connecting with $PASSWORD and {SECRET}"; echo refused >&2; exit 1', **{HOOK: "PreSync"}
    )
    check["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}
    ]
    state = await app.sync(write(tmp_path / "repo", secret, check, configmap("c")))
    assert state.phase is OperationPhase.FAILED
    logs = result(state, "check").logs
    assert "connecting with ++++++++ and ++++++++" in logs and "refused" in logs
    assert SECRET not in json.dumps(state.to_json())


async def test_server_side_apply_uses_argo_cd_field_manager(app, tmp_path):
    state = await app.sync(
        write(tmp_path / "repo", configmap("c")), sync_options=("CreateNamespace=true", "ServerSideApply=true")
    )
    assert result(state, "c").message == "configmap/c serverside-applied"
    live = await app.get("ConfigMap", "c")
    assert "argocd-controller" in {entry["manager"] for entry in live["metadata"]["managedFields"]}


async def test_client_side_apply_keeps_fields_set_by_others_and_removes_dropped_ones(app, tmp_path):
    first = configmap("c")
    first["data"] = {"ours": "1", "dropped": "2"}
    await app.sync(write(tmp_path / "v1", first))
    await app.kube.patch("v1", "ConfigMap", "c", {"data": {"theirs": "3"}}, namespace=app.namespace)
    second = configmap("c")
    second["data"] = {"ours": "1"}
    state = await app.sync(write(tmp_path / "v2", second))
    assert result(state, "c").message == "configmap/c configured"
    assert (await app.get("ConfigMap", "c"))["data"] == {"ours": "1", "theirs": "3"}
    again = await app.sync(write(tmp_path / "v2", second))
    assert result(again, "c").message == "configmap/c unchanged"


async def test_replace_and_apply_out_of_sync_only(app, tmp_path):
    directory = write(tmp_path / "repo", configmap("replaced", **{OPTIONS: "Replace=true"}), configmap("same"))
    await app.sync(directory)
    state = await app.sync(directory, sync_options=("CreateNamespace=true", "ApplyOutOfSyncOnly=true"))
    assert state.phase is OperationPhase.SUCCEEDED
    assert [r.name for r in state.results if r.kind == "ConfigMap"] == []  # nothing was out of sync
    state = await app.sync(directory)
    assert result(state, "replaced").message == "configmap/replaced replaced"


async def test_strategic_merge_removes_a_dropped_list_element_and_keeps_server_defaults(app, tmp_path):
    first = deployment("web")
    container = first["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    await app.sync(write(tmp_path / "v1", first))
    assert not (await diff_app(app.kube, app.request(tmp_path / "v1"))).different  # defaults are no difference
    second = deployment("web")
    second["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "A", "value": "1"}]
    changed = await diff_app(app.kube, app.request(write(tmp_path / "v2", second)))
    assert [label for label, _ in changed.changed] == [f"apps/Deployment/{app.namespace}/web"]
    assert "-        - name: B" in changed.changed[0][1]
    state = await app.sync(tmp_path / "v2")
    assert result(state, "web").message == "deployment.apps/web configured"
    live = await app.get("Deployment", "web", "apps/v1")
    live_container = live["spec"]["template"]["spec"]["containers"][0]
    assert live_container["env"] == [{"name": "A", "value": "1"}]
    assert live_container["imagePullPolicy"]  # the server's default is still there


async def test_server_side_apply_takes_over_client_side_fields_so_removed_ones_go(app, tmp_path):
    first = configmap("c")
    first["data"] = {"kept": "1", "dropped": "2"}
    await app.sync(write(tmp_path / "v1", first))  # client-side apply: kubectl-client-side-apply owns the data
    second = configmap("c")
    second["data"] = {"kept": "1"}
    options = ("CreateNamespace=true", "ServerSideApply=true")
    state = await app.sync(write(tmp_path / "v2", second), sync_options=options)
    assert result(state, "c").message == "configmap/c serverside-applied"
    live = await app.get("ConfigMap", "c")
    assert live["data"] == {"kept": "1"}, "the field removed from Git is removed, as after Argo CD's migration"
    managers = {(m["manager"], m["operation"]) for m in live["metadata"]["managedFields"]}
    assert ("argocd-controller", "Apply") in managers
    assert ("kubectl-client-side-apply", "Update") not in managers


async def test_client_side_apply_migration_false_keeps_the_old_owner(app, tmp_path):
    first = configmap("c")
    first["data"] = {"kept": "1", "dropped": "2"}
    await app.sync(write(tmp_path / "v1", first))
    second = configmap("c")
    second["data"] = {"kept": "1"}
    options = ("CreateNamespace=true", "ServerSideApply=true", "ClientSideApplyMigration=false")
    await app.sync(write(tmp_path / "v2", second), sync_options=options)
    live = await app.get("ConfigMap", "c")
    assert live["data"] == {"kept": "1", "dropped": "2"}, "kubectl-client-side-apply still owns it"
