"""Helm charts rendered by a real helm binary: flags, values precedence, hooks, CRDs, bad input."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tiphys.sources import (
    HelmParameter,
    HelmSpec,
    Reason,
    Rendered,
    SourceError,
    SourceSpec,
    SourceType,
    render,
)
from tiphys.sources.helm import find_helm, helm_argv

from .conftest import Repo

CHART = {
    "Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    "values.yaml": "greeting: hello\nlevel: chart\ntag: '1'\n",
    "values-prod.yaml": "level: prod\n",
    "values-eu.yaml": "level: eu\nregion: eu-west-1\n",
    "crds/widget.yaml": """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]
""",
    "templates/config.yaml": """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-config
  namespace: {{ .Release.Namespace }}
data:
  greeting: {{ .Values.greeting | quote }}
  level: {{ .Values.level | quote }}
  region: {{ .Values.region | default "none" | quote }}
  tagKind: {{ kindOf .Values.tag | quote }}
  kube: {{ .Capabilities.KubeVersion.Version | quote }}
  hasWidgets: {{ .Capabilities.APIVersions.Has "example.com/v1" | quote }}
""",
    "templates/hooks.yaml": """\
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-migrate
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
    helm.sh/hook-weight: "-5"
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: busybox, command: [sh, -c, "echo migrate"]}]
---
apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-smoke-test
  annotations:
    helm.sh/hook: test
spec:
  restartPolicy: Never
  containers: [{name: test, image: busybox, command: [sh, -c, "echo ok"]}]
""",
}


@pytest.fixture
def chart_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for name, text in CHART.items():
        (root / "charts" / "web" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "charts" / "web" / name).write_text(text)
    (root / "common").mkdir()
    (root / "common" / "values.yaml").write_text("region: us-east-1\n")
    (tmp_path / "secret-values.yaml").write_text("greeting: stolen\n")
    return root


async def render_chart(root: Path, helm: HelmSpec | None = None, **kwargs: Any) -> Rendered:
    spec = SourceSpec(repoURL=str(root), path="charts/web", helm=helm)
    return await render(spec, app_name=kwargs.pop("app_name", "shop"), namespace="prod", **kwargs)


def config(rendered: Rendered) -> dict[str, str]:
    [cm] = [o for o in rendered.objects if o["kind"] == "ConfigMap"]
    return cm["data"]  # type: ignore[no-any-return]


async def test_chart_with_hooks_and_crds(chart_repo: Path) -> None:
    rendered = await render_chart(chart_repo)
    assert rendered.source_type is SourceType.HELM
    assert [(o["kind"], o["metadata"]["name"]) for o in rendered.objects] == [
        ("CustomResourceDefinition", "widgets.example.com"),
        ("ConfigMap", "shop-config"),
        ("Pod", "shop-smoke-test"),  # helm's order: hooks after the rest, test hooks first
        ("Job", "shop-migrate"),
    ]
    assert rendered.origins == (
        "web/crds/widget.yaml",
        "web/templates/config.yaml",
        "web/templates/hooks.yaml",
        "web/templates/hooks.yaml",
    )
    job = rendered.objects[3]
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert rendered.objects[1]["metadata"]["namespace"] == "prod"
    assert config(rendered)["level"] == "chart"
    assert len(rendered.revision) == 40 and rendered.warnings == ()


async def test_values_precedence_like_argo_cd(chart_repo: Path) -> None:
    helm = HelmSpec(
        releaseName="web",
        valueFiles=("values-eu.yaml", "values-prod.yaml", "/common/values.yaml"),
        values="greeting: from-inline\n",
        parameters=(HelmParameter(name="greeting", value="from-set"), HelmParameter(name="tag", value="7")),
    )
    rendered = await render_chart(chart_repo, helm)
    assert rendered.objects[1]["metadata"]["name"] == "web-config"
    assert config(rendered) | {"kube": ""} == {
        "greeting": "from-set",  # --set beats every values file
        "level": "prod",  # later value files win
        "region": "us-east-1",  # `/common/...` is the repository root
        "tagKind": "int64",
        "kube": "",
        "hasWidgets": "false",
    }


async def test_inline_values_win_over_value_files_and_set_string(chart_repo: Path) -> None:
    helm = HelmSpec(
        valueFiles=("values-prod.yaml",),
        valuesObject={"level": "object", "greeting": "a,b"},
        parameters=(HelmParameter(name="tag", value="7", forceString=True),),
    )
    data = config(await render_chart(chart_repo, helm))
    assert (data["level"], data["greeting"], data["tagKind"]) == ("object", "a,b", "string")


async def test_parameter_commas_are_escaped(chart_repo: Path) -> None:
    helm = HelmSpec(parameters=(HelmParameter(name="greeting", value="a,b"),))
    assert config(await render_chart(chart_repo, helm))["greeting"] == "a,b"


async def test_skip_crds_kube_and_api_versions(chart_repo: Path) -> None:
    helm = HelmSpec(skipCrds=True, kubeVersion="1.31.0")
    rendered = await render_chart(chart_repo, helm, api_versions=["example.com/v1"])
    assert [o["kind"] for o in rendered.objects] == ["ConfigMap", "Pod", "Job"]
    assert config(rendered)["kube"] == "v1.31.0"
    assert config(rendered)["hasWidgets"] == "true"


async def test_chart_from_a_git_revision(repo: Repo, cache_dir: Path) -> None:
    repo.write({f"web/{name}": text for name, text in CHART.items()})
    sha = repo.commit()
    spec = SourceSpec(repoURL=repo.url, path="web", targetRevision="main")
    rendered = await render(spec, app_name="git", namespace="default", cache_dir=cache_dir)
    assert rendered.revision == sha
    assert config(rendered)["greeting"] == "hello"


@pytest.mark.parametrize(
    "value_file, reason, message",
    [
        pytest.param(
            "../../../secret-values.yaml",
            Reason.PATH_OUTSIDE_ROOT,
            "values file '../../../secret-values.yaml' resolves outside the repository",
            id="dotdot-outside-repo",
        ),
        pytest.param(
            "link.yaml",
            Reason.PATH_OUTSIDE_ROOT,
            "charts/web/link.yaml: symlink leads outside the repository (to ../../../secret-values.yaml)",
            id="symlink-outside-repo",
        ),
        pytest.param(
            "values-missing.yaml",
            Reason.PATH_NOT_FOUND,
            "values file 'values-missing.yaml' does not exist in the repository",
            id="missing",
        ),
    ],
)
async def test_value_files_outside_the_repository_are_refused(
    chart_repo: Path, value_file: str, reason: Reason, message: str
) -> None:
    if value_file == "link.yaml":
        os.symlink("../../../secret-values.yaml", chart_repo / "charts" / "web" / "link.yaml")
    with pytest.raises(SourceError) as e:
        await render(
            SourceSpec(repoURL=str(chart_repo), path="charts/web", helm=HelmSpec(valueFiles=(value_file,))),
            app_name="shop",
        )
    assert (e.value.reason, e.value.message) == (reason, message)


async def test_ignore_missing_value_files_warns(chart_repo: Path) -> None:
    helm = HelmSpec(valueFiles=("values-missing.yaml", "values-prod.yaml"), ignoreMissingValueFiles=True)
    rendered = await render_chart(chart_repo, helm)
    assert config(rendered)["level"] == "prod"
    assert rendered.warnings == ("values file 'values-missing.yaml' does not exist: ignored (ignoreMissingValueFiles)",)


async def test_template_error_names_the_template(chart_repo: Path) -> None:
    (chart_repo / "charts" / "web" / "templates" / "broken.yaml").write_text("{{ .Values.nope.deeper }}\n")
    with pytest.raises(SourceError) as e:
        await render_chart(chart_repo)
    assert e.value.reason is Reason.HELM_FAILED
    assert e.value.message.startswith("helm template charts/web failed: Error: template: web/templates/broken.yaml:1")
    assert str(chart_repo) not in e.value.message


async def test_rendered_document_without_name_is_refused(chart_repo: Path) -> None:
    (chart_repo / "charts" / "web" / "templates" / "nameless.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  labels: {app: web}\n"
    )
    with pytest.raises(SourceError) as e:
        await render_chart(chart_repo)
    assert e.value.message == "web/templates/nameless.yaml: Secret has no metadata.name (nor generateName)"


def test_argv_in_argo_cd_order() -> None:
    helm = HelmSpec(
        parameters=(HelmParameter("a", "1,2"), HelmParameter("b", "x", forceString=True), HelmParameter("c", "{1,2}")),
        skipTests=True,
    )
    argv = helm_argv(
        "helm",
        helm,
        release_name="r",
        namespace="ns",
        kube_version="1.31",
        api_versions=["v1", "example.com/v1"],
        value_files=[Path("/repo/v1.yaml"), Path("/repo/v2.yaml")],
        file_parameters=[("cert", Path("/repo/cert.pem"))],
        extra_values=Path("/tmp/inline.yaml"),
    )
    assert argv == [
        "helm", "template", ".", "--name-template", "r", "--namespace", "ns", "--kube-version", "1.31",
        "--set", "a=1\\,2", "--set", "c={1,2}", "--set-string", "b=x", "--set-file", "cert=/repo/cert.pem",
        "--values", "/repo/v1.yaml", "--values", "/repo/v2.yaml", "--values", "/tmp/inline.yaml",
        "--api-versions", "v1", "--api-versions", "example.com/v1", "--include-crds", "--skip-tests",
    ]  # fmt: skip


def test_helm_is_installed() -> None:
    assert Path(find_helm()).is_file()
