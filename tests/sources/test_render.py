"""The public face: which tool renders a path, the spec from an Application, and the exported names."""

from __future__ import annotations

from pathlib import Path

import pytest

import tiphys.sources
from tiphys.sources import (
    DirectorySpec,
    HelmParameter,
    HelmSpec,
    KustomizeSpec,
    Reason,
    SourceError,
    SourceSpec,
    SourceType,
    detect_type,
    is_local,
    render,
)

from .conftest import configmap

CHART_YAML = "apiVersion: v2\nname: c\nversion: 0.1.0\n"
KUSTOMIZATION = "resources:\n- cm.yaml\n"


@pytest.mark.parametrize(
    "files, spec, expected",
    [
        pytest.param({"cm.yaml": ""}, {}, SourceType.DIRECTORY, id="plain"),
        pytest.param({"Chart.yaml": CHART_YAML}, {}, SourceType.HELM, id="chart"),
        pytest.param({"kustomization.yml": KUSTOMIZATION}, {}, SourceType.KUSTOMIZE, id="kustomization-yml"),
        pytest.param({"Kustomization": KUSTOMIZATION}, {}, SourceType.KUSTOMIZE, id="Kustomization"),
        pytest.param(
            {"Chart.yaml": CHART_YAML, "kustomization.yaml": KUSTOMIZATION}, {}, SourceType.KUSTOMIZE, id="both"
        ),
        pytest.param({"sub/Chart.yaml": CHART_YAML}, {}, SourceType.DIRECTORY, id="chart-below-is-not-the-path"),
        pytest.param({"Chart.yaml": CHART_YAML}, {"directory": DirectorySpec()}, SourceType.DIRECTORY, id="explicit"),
        pytest.param({"kustomization.yaml": KUSTOMIZATION}, {"helm": HelmSpec()}, SourceType.HELM, id="explicit-helm"),
    ],
)
def test_detect_type_like_argo_cd(tmp_path: Path, files: dict[str, str], spec: dict, expected: SourceType) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert detect_type(SourceSpec(repoURL=str(tmp_path), **spec), tmp_path) is expected


async def test_two_sections_are_refused_before_anything_runs(tmp_path: Path) -> None:
    spec = SourceSpec(repoURL="https://example.invalid/x.git", helm=HelmSpec(), kustomize=KustomizeSpec())
    with pytest.raises(SourceError) as e:
        await render(spec, cache_dir=tmp_path / "cache")
    assert (e.value.reason, e.value.message) == (
        Reason.INVALID_SOURCE,
        "multiple application sources defined: Kustomize,Helm",
    )
    assert not (tmp_path / "cache").exists()


async def test_local_directory_without_git(tmp_path: Path) -> None:
    (tmp_path / "cm.yaml").write_text(configmap("cm"))
    rendered = await render(SourceSpec(repoURL=str(tmp_path)))
    assert [o["metadata"]["name"] for o in rendered.objects] == ["cm"]


@pytest.mark.parametrize(
    "url, local",
    [
        pytest.param("./deploy", True, id="relative-dir"),
        pytest.param("/srv/deploy", True, id="absolute-dir"),
        pytest.param("https://github.com/org/repo.git", False, id="https"),
        pytest.param("git@github.com:org/repo.git", False, id="scp-like"),
        pytest.param("ssh://git@host/repo", False, id="ssh"),
        pytest.param("file:///srv/repo", False, id="file-url"),
    ],
)
def test_is_local(url: str, local: bool) -> None:
    assert is_local(SourceSpec(repoURL=url)) is local
    assert not is_local(SourceSpec(repoURL=url, targetRevision="main"))


def test_spec_from_an_application_source() -> None:
    spec = SourceSpec.from_dict(
        {
            "repoURL": "https://example.invalid/x.git",
            "path": "charts/web",
            "targetRevision": "v1",
            "helm": {
                "releaseName": "web",
                "valueFiles": ["values-prod.yaml"],
                "parameters": [{"name": "image.tag", "value": "1.2", "forceString": True}],
                "valuesObject": {"a": 1},
            },
        }
    )
    assert spec.explicit_type() is SourceType.HELM
    assert spec.helm == HelmSpec(
        releaseName="web",
        valueFiles=("values-prod.yaml",),
        parameters=(HelmParameter(name="image.tag", value="1.2", forceString=True),),
        valuesObject={"a": 1},
    )
    with pytest.raises(SourceError, match=r"source\.chart is not supported"):
        SourceSpec.from_dict({"repoURL": "https://charts.example.invalid", "chart": "redis"})
    with pytest.raises(SourceError, match="source field valueFiles: expected a list of strings"):
        SourceSpec.from_dict({"repoURL": "x", "helm": {"valueFiles": "values.yaml"}})


def test_reasons_say_whose_fault_it_is() -> None:
    assert Reason.INVALID_MANIFEST.bad_input and Reason.PATH_OUTSIDE_ROOT.bad_input
    assert not Reason.GIT_FAILED.bad_input and not Reason.TOOL_MISSING.bad_input
    assert str(SourceError(Reason.INVALID_SOURCE, "x")) == "x"


def test_exported_names() -> None:
    assert sorted(tiphys.sources.__all__) == [
        "DirectorySpec", "HelmFileParameter", "HelmParameter", "HelmSpec", "KustomizeReplica", "KustomizeSpec",
        "Reason", "Rendered", "SourceError", "SourceSpec", "SourceType", "detect_type", "is_local", "render",
    ]  # fmt: skip
    for name in tiphys.sources.__all__:
        assert getattr(tiphys.sources, name).__module__.startswith("tiphys.sources")
