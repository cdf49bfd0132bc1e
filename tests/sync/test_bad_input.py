"""A revision that cannot be synced fails before anything is written: no hook, no Application, nothing.

Each case is checked in-process (the driver raises ``InvalidInput``, which the CLI turns into exit
code 2) and then the cluster is looked at: the namespace the sync would create does not exist.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tiphys import sources
from tiphys.controller import API_VERSION, APP_NAMESPACE, KIND, InvalidInput
from tiphys.kube import NotFound

from .conftest import HOOK, configmap, job, write

pytestmark = pytest.mark.asyncio(loop_scope="session")


def malformed(repo: Path) -> dict:
    write(repo, job("pre", **{HOOK: "PreSync"}))
    (repo / "broken.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n")
    return {}


def no_kind(repo: Path) -> dict:
    write(repo, job("pre", **{HOOK: "PreSync"}), {"apiVersion": "v1", "metadata": {"name": "what"}})
    return {}


def no_name(repo: Path) -> dict:
    write(
        repo,
        job("pre", **{HOOK: "PreSync"}),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"labels": {"a": "b"}}},
    )
    return {}


def duplicate(repo: Path) -> dict:
    write(repo, job("pre", **{HOOK: "PreSync"}), configmap("twice"), configmap("twice"))
    return {}


def parent_path(repo: Path) -> dict:
    write(repo / "app", job("pre", **{HOOK: "PreSync"}))
    return {"path": "../"}


def absolute_path(repo: Path) -> dict:
    write(repo / "app", job("pre", **{HOOK: "PreSync"}))
    return {"path": "/etc"}


def symlink_out(repo: Path) -> dict:
    write(repo, job("pre", **{HOOK: "PreSync"}))
    os.symlink("/etc/hostname", repo / "outside.yaml")
    return {}


def values_outside(repo: Path) -> dict:
    (repo / "chart" / "templates").mkdir(parents=True)
    (repo / "chart" / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 1.0.0\n")
    (repo / "chart" / "templates" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    spec = sources.SourceSpec(
        repoURL=str(repo), path="chart", helm=sources.HelmSpec(valueFiles=("../../../../etc/passwd",))
    )
    return {"source": spec}


def unknown_kind(repo: Path) -> dict:
    write(
        repo,
        job("pre", **{HOOK: "PreSync"}),
        {"apiVersion": "nowhere.example.io/v1", "kind": "Thing", "metadata": {"name": "t"}},
    )
    return {}


def invalid_field(repo: Path) -> dict:
    bad = configmap("typo")
    bad["dataa"] = {"k": "v"}
    write(repo, job("pre", **{HOOK: "PreSync"}), bad)
    return {}


def invalid_workflow_hook(repo: Path) -> dict:
    workflow = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": "presync-", "annotations": {HOOK: "PreSync"}},
        "spec": {},
    }
    write(repo, workflow, configmap("c"))
    return {}


@pytest.mark.parametrize(
    "make, says",
    [
        pytest.param(malformed, "broken.yaml", id="malformed-yaml"),
        pytest.param(no_kind, "kind", id="no-kind"),
        pytest.param(no_name, "name", id="no-name"),
        pytest.param(duplicate, "twice", id="duplicate"),
        pytest.param(parent_path, "..", id="dot-dot-path"),
        pytest.param(absolute_path, "/etc", id="absolute-path"),
        pytest.param(symlink_out, "outside.yaml", id="symlink-out"),
        pytest.param(values_outside, "passwd", id="values-outside"),
        pytest.param(unknown_kind, 'no matches for kind "Thing"', id="unknown-kind"),
        pytest.param(invalid_field, "dataa", id="unknown-field"),
        pytest.param(invalid_workflow_hook, "invalid spec: spec.entrypoint is required", id="invalid-workflow-hook"),
    ],
)
async def test_a_bad_revision_changes_nothing(app, tmp_path, make, says):
    repo = tmp_path / "repo"
    repo.mkdir()
    fields = make(repo)
    with pytest.raises(InvalidInput) as failure:
        await app.sync(repo, **fields)
    assert says in str(failure.value)
    with pytest.raises(NotFound):
        await app.kube.get("v1", "Namespace", app.namespace)
    with pytest.raises(NotFound):
        await app.kube.get(API_VERSION, KIND, app.name, namespace=APP_NAMESPACE)
