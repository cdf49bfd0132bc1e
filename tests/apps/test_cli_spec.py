"""The pure rules behind ``tiphys app``: manifests, ``set`` patches, operation requests, ``wait``'s verdict."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import yaml

from tiphys.cli import app_requests, app_spec
from tiphys.cli.app_spec import Refused, SpecError
from tiphys.cli.app_wait import WaitGoal, wait_verdict

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def app(**spec: object) -> dict:
    base = {"source": {"repoURL": "https://h/o/r", "path": ".", "targetRevision": "main"}}
    return {"metadata": {"name": "a"}, "spec": {**base, **spec}}


def test_local_directory_repo_is_absolute_and_has_no_revision(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "repo").mkdir()
    built = app_spec.application("a", repo="repo", path="app", dest_namespace="n")
    assert built["spec"]["source"] == {"repoURL": str(tmp_path / "repo"), "path": "app"}
    with pytest.raises(SpecError, match="neither a Git URL"):
        app_spec.application("a", repo="missing", path=".", dest_namespace="n")
    with pytest.raises(SpecError, match="starts with '-'"):
        app_spec.application("a", repo="--upload-pack=x", path=".", dest_namespace="n")


def test_git_repo_defaults_to_head_and_in_cluster():
    built = app_spec.application("a", repo="git@github.com:o/r.git", path="", dest_namespace="n")
    assert built["spec"]["source"] == {"repoURL": "git@github.com:o/r.git", "path": ".", "targetRevision": "HEAD"}
    assert built["spec"]["destination"] == {"server": "https://kubernetes.default.svc", "namespace": "n"}
    assert "syncPolicy" not in built["spec"]


@pytest.mark.parametrize(
    "doc, message",
    [
        pytest.param({"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject"}, "not an Application", id="kind"),
        pytest.param({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "spec": {}}, "metadata.name",
                     id="name"),
        pytest.param(
            {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "a"}, "spec": {}},
            "repoURL",
            id="source",
        ),
        pytest.param(
            {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "a"},
             "spec": {"source": {"repoURL": "u"}, "destination": {"namespace": "x"}}},
            "server or a name",
            id="destination",
        ),
    ],
)  # fmt: skip
def test_bad_manifests(doc, message):
    with pytest.raises(SpecError, match=message):
        app_spec.from_manifests(yaml.safe_dump(doc), "f.yaml")


def test_manifest_conversion_drops_server_fields_and_status():
    text = """
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web, namespace: argocd, uid: u1, resourceVersion: "9", annotations: {a: b}}
spec:
  source: {repoURL: "https://h/o/r", path: web}
  destination: {server: "https://kubernetes.default.svc", namespace: web}
status: {sync: {status: Synced}}
---
apiVersion: tiphys.io/v1alpha1
kind: Application
metadata: {name: api}
spec:
  project: team
  source: {repoURL: "https://h/o/r", path: api}
  destination: {name: second, namespace: api}
"""
    web, api = app_spec.from_manifests(text, "apps.yaml")
    assert web["metadata"] == {"name": "web", "namespace": "tiphys", "annotations": {"a": "b"}}
    assert "status" not in web and web["spec"]["project"] == "default"
    assert api["spec"]["project"] == "team" and api["metadata"]["namespace"] == "tiphys"
    with pytest.raises(SpecError, match="holds 2 Applications"):
        app_spec.from_manifests(text, "apps.yaml", name="x")


@pytest.mark.parametrize(
    "current, kwargs, expected",
    [
        pytest.param({}, {"sync_policy": "automated"}, {"automated": {}}, id="auto"),
        pytest.param({"automated": {"prune": True}}, {"self_heal": True}, {"automated": {"selfHeal": True}},
                     id="keep-prune"),
        pytest.param({"automated": {"prune": True}}, {"auto_prune": False}, {"automated": {"prune": None}},
                     id="drop-prune"),
        pytest.param({"automated": {"prune": True}}, {"sync_policy": "none"}, {"automated": None}, id="manual"),
        pytest.param(
            {"syncOptions": ["CreateNamespace=true", "PruneLast=true"]},
            {"sync_options": ["PruneLast=false"]},
            {"syncOptions": ["CreateNamespace=true", "PruneLast=false"]},
            id="options-by-key",
        ),
    ],
)  # fmt: skip
def test_set_changes(current, kwargs, expected):
    assert app_spec.set_changes(app(syncPolicy=current), **kwargs) == {"spec": {"syncPolicy": expected}}


def test_false_flags_on_a_manual_app_change_nothing():
    with pytest.raises(SpecError, match="nothing to set"):
        app_spec.set_changes(app(), self_heal=False)


def test_set_destination_switches_between_server_and_name():
    patch = app_spec.set_changes(app(), dest_name="second", dest_namespace="x")
    assert patch == {"spec": {"destination": {"name": "second", "server": None, "namespace": "x"}}}
    with pytest.raises(SpecError, match="need --sync-policy automated"):
        app_spec.set_changes(app(), auto_prune=True)
    with pytest.raises(SpecError, match="need --sync-policy automated"):
        app_spec.set_changes(app(), sync_policy="none", self_heal=True)


@pytest.mark.parametrize(
    "text, kind, expected",
    [
        pytest.param('{"a": 1}', None, "merge", id="object-is-merge"),
        pytest.param('[{"op": "remove", "path": "/a"}]', None, "json", id="list-is-json"),
        pytest.param('{"a": 1}', "merge", "merge", id="explicit"),
    ],
)
def test_parse_patch(text, kind, expected):
    assert app_requests.parse_patch(text, kind)[1] == expected


def test_sync_operation_takes_the_target_and_the_retry_policy():
    retry = {"limit": 2, "backoff": {"duration": "1s"}}
    operation = app_requests.sync_operation(app(syncPolicy={"retry": retry}), prune=True)
    assert operation["sync"] == {"revision": "main", "prune": True}
    assert operation["retry"] == retry
    assert operation["initiatedBy"] == {"username": "tiphys-cli"}
    assert app_requests.sync_operation(app(), revision="v2")["sync"]["revision"] == "v2"


def test_history_id():
    history = {"status": {"history": [{"id": 3}, {"id": 4}, {"id": 5}]}}
    assert app_requests.history_id({**app(), **history}, None) == 4
    assert app_requests.history_id({**app(), **history}, 3) == 3
    with pytest.raises(Refused, match="does not have deployment id '9'"):
        app_requests.history_id({**app(), **history}, 9)
    with pytest.raises(Refused, match="no previous deployment"):
        app_requests.history_id(app(), None)


def state(phase: str, started: datetime = T0) -> dict:
    return {"operation": {"sync": {}}, "phase": phase, "startedAt": started.strftime("%Y-%m-%dT%H:%M:%SZ")}


def with_status(**status: object) -> dict:
    return {**app(), "status": status}


SYNCED = {"status": "Synced"}
HEALTHY = {"status": "Healthy"}


@pytest.mark.parametrize(
    "current, goal, first, expected",
    [
        pytest.param(with_status(sync=SYNCED, health=HEALTHY), WaitGoal(True, True, True), (None, True), (True, ""),
                     id="reached"),
        pytest.param(with_status(sync=SYNCED, operationState=state("Running")), WaitGoal(operation=True), (T0, False),
                     (False, ""), id="operation-running"),
        pytest.param(with_status(sync={"status": "OutOfSync"}, operationState=state("Failed")), WaitGoal(sync=True),
                     (T0, False), (False, "the operation ended Failed: "), id="running-op-failed"),
        pytest.param(with_status(sync={"status": "OutOfSync"}, operationState=state("Failed")), WaitGoal(sync=True),
                     (T0, True), (False, ""), id="old-failure-ignored"),
        pytest.param(with_status(health={"status": "Degraded"}, operationState=state("Error")), WaitGoal(health=True),
                     (None, True), (False, "the operation ended Error: "), id="new-op-errored"),
        pytest.param(None, WaitGoal(sync=True), (None, True), (False, "the application was deleted"), id="deleted"),
    ],
)  # fmt: skip
def test_wait_verdict(current, goal, first, expected):
    started, completed = first
    assert wait_verdict(current, goal, first_started=started, first_completed=completed) == expected


def test_views_render_names_and_messages_verbatim():
    from rich.console import Console

    from tiphys.cli import app_view

    message = "failed: [/bold] spec.replicas [red]bad[/red]"
    application = {
        "metadata": {"name": "a", "namespace": "tiphys"},
        "spec": {"source": {"repoURL": "https://user:pw@h/o/r"}, "destination": {"namespace": "n"}},
        "status": {
            "conditions": [{"type": "ComparisonError", "message": message}],
            "resources": [{"kind": "ConfigMap", "namespace": "n", "name": "c", "status": "OutOfSync"}],
            "operationState": {
                "phase": "Failed",
                "message": message,
                "startedAt": "2026-01-01T00:00:00Z",
                "syncResult": {"resources": [{"kind": "Job", "name": "h", "hookType": "PreSync", "message": message}]},
            },
            "history": [{"id": 0, "revision": "r", "deployedAt": "2026-01-01T00:00:00Z", "source": {"path": "[x]"}}],
        },
    }
    console = Console(record=True, width=200)
    console.print(app_view.app_view(application, {("", "ConfigMap", "n", "c"): [app_view.ChildNode("Pod", "[p]")]}))
    console.print(app_view.list_table([application], wide=True))
    console.print(app_view.history_table(application))
    text = console.export_text()
    assert text.count(message) >= 3 and "[x]" in text and "Pod [p]" in text
    assert "pw" not in text  # credentials in the repository URL are masked


def test_source_flags_and_labels():
    flags = app_spec.SourceFlags(values=("values-prod.yaml",), helm_set=("image.tag=v2", "x="), release_name="web")
    built = app_spec.application("a", repo="https://h/o/r", path="chart", dest_namespace="n", source_flags=flags,
                                 labels=["team=a", "app.kubernetes.io/part-of=shop"])  # fmt: skip
    assert built["spec"]["source"]["helm"] == {
        "valueFiles": ["values-prod.yaml"],
        "parameters": [{"name": "image.tag", "value": "v2"}, {"name": "x", "value": ""}],
        "releaseName": "web",
    }
    assert built["metadata"]["labels"] == {"team": "a", "app.kubernetes.io/part-of": "shop"}
    recurse = app_spec.application("a", repo="https://h/o/r", path=".", dest_namespace="n",
                                   source_flags=app_spec.SourceFlags(directory_recurse=True))  # fmt: skip
    assert recurse["spec"]["source"]["directory"] == {"recurse": True}
    with pytest.raises(SpecError, match="for plain directories"):
        app_spec.SourceFlags(directory_recurse=True, release_name="r").apply({})
    with pytest.raises(SpecError, match="NAME=VALUE"):
        app_spec.SourceFlags(helm_set=("novalue",)).apply({})
    with pytest.raises(SpecError, match="valid KEY=VALUE label"):
        app_spec.labels_of(["bad key=x"])
