"""Kustomize through `kubectl kustomize` (or a kustomize binary): overlays, components, Argo CD's edits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tiphys.sources import (
    KustomizeReplica,
    KustomizeSpec,
    Reason,
    Rendered,
    SourceError,
    SourceSpec,
    SourceType,
    render,
)
from tiphys.sources.kustomize import apply_edits

from .conftest import Repo, configmap

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx:1.25}]
"""

FILES = {
    "base/kustomization.yaml": "resources:\n- deployment.yaml\n- config.yaml\n",
    "base/deployment.yaml": DEPLOYMENT,
    "base/config.yaml": configmap("settings", level="base"),
    "components/monitoring/kustomization.yaml": """\
apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
resources:
- monitor.yaml
patches:
- patch: |-
    - op: add
      path: /metadata/annotations
      value: {monitored: "true"}
  target: {kind: Deployment}
""",
    "components/monitoring/monitor.yaml": configmap("monitor"),
    "components/extra/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
    "resources:\n- extra.yaml\n",
    "components/extra/extra.yaml": configmap("extra"),
    "overlays/prod/kustomization.yaml": """\
namePrefix: prod-
resources:
- ../../base
components:
- ../../components/monitoring
""",
}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for name, text in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


async def build(root: Path, kustomize: KustomizeSpec | None = None, path: str = "overlays/prod") -> Rendered:
    return await render(SourceSpec(repoURL=str(root), path=path, kustomize=kustomize))


def by_name(rendered: Rendered) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in rendered.objects}


async def test_overlay_with_a_component(tree: Path) -> None:
    rendered = await build(tree)
    assert rendered.source_type is SourceType.KUSTOMIZE
    objects = by_name(rendered)
    assert sorted(objects) == ["prod-monitor", "prod-settings", "prod-web"]
    assert objects["prod-web"]["metadata"]["annotations"] == {"monitored": "true"}
    assert rendered.origins[0] == "kustomize build overlays/prod: document 1"


async def test_argo_cd_edits_on_a_read_only_git_checkout(repo: Repo, cache_dir: Path) -> None:
    repo.write(FILES)
    repo.commit()
    spec = KustomizeSpec(
        namePrefix="staging-",
        nameSuffix="-v2",
        namespace="staging",
        images=("nginx=registry.example.com/nginx:1.27",),
        replicas=(KustomizeReplica(name="web", count=3),),
        commonLabels={"team": "shop"},
        commonAnnotations={"owner": "ops"},
        components=("../../components/extra",),
    )
    source = SourceSpec(repoURL=repo.url, path="overlays/prod", targetRevision="main", kustomize=spec)
    objects = by_name(await render(source, cache_dir=cache_dir))
    assert sorted(objects) == ["staging-extra-v2", "staging-monitor-v2", "staging-settings-v2", "staging-web-v2"]
    web = objects["staging-web-v2"]
    assert web["metadata"]["namespace"] == "staging"
    assert web["metadata"]["labels"] == {"app": "web", "team": "shop"}
    assert web["metadata"]["annotations"] == {"monitored": "true", "owner": "ops"}
    assert web["spec"]["replicas"] == 3
    assert web["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example.com/nginx:1.27"
    # the shared checkout is untouched: the edits went to a copy
    again = by_name(await render(SourceSpec(repoURL=repo.url, path="overlays/prod"), cache_dir=cache_dir))
    assert sorted(again) == ["prod-monitor", "prod-settings", "prod-web"]


@pytest.mark.parametrize(
    "component, reason, message",
    [
        pytest.param(
            "../../../elsewhere",
            Reason.PATH_OUTSIDE_ROOT,
            "kustomize component '../../../elsewhere' resolves outside the repository",
            id="dotdot",
        ),
        pytest.param(
            "/components/extra",
            Reason.PATH_OUTSIDE_ROOT,
            "kustomize component '/components/extra': absolute paths are not allowed; "
            "give a path relative to 'overlays/prod'",
            id="absolute",
        ),
        pytest.param(
            "../../components/missing",
            Reason.PATH_NOT_FOUND,
            "kustomize component '../../components/missing' does not exist in the repository",
            id="missing",
        ),
    ],
)
async def test_components_are_resolved_inside_the_repository(
    tree: Path, component: str, reason: Reason, message: str
) -> None:
    with pytest.raises(SourceError) as e:
        await build(tree, KustomizeSpec(components=(component,)))
    assert (e.value.reason, e.value.message) == (reason, message)


async def test_ignore_missing_components_warns(tree: Path) -> None:
    spec = KustomizeSpec(
        components=("../../components/missing", "../../components/extra"), ignoreMissingComponents=True
    )
    rendered = await build(tree, spec)
    assert "prod-extra" in by_name(rendered)
    assert rendered.warnings == (
        "kustomize component '../../components/missing' does not exist: ignored (ignoreMissingComponents)",
    )


async def test_build_error_names_the_path(tree: Path) -> None:
    (tree / "overlays" / "prod" / "kustomization.yaml").write_text("resources:\n- ../../nowhere\n")
    with pytest.raises(SourceError) as e:
        await build(tree)
    assert e.value.reason is Reason.KUSTOMIZE_FAILED
    assert e.value.message.startswith("kustomize build overlays/prod failed: ")
    assert "nowhere" in e.value.message


@pytest.mark.parametrize(
    "image, entry",
    [
        pytest.param("nginx:1.27", {"name": "nginx", "newTag": "1.27"}, id="tag"),
        pytest.param("nginx=my/nginx", {"name": "nginx", "newName": "my/nginx"}, id="rename"),
        pytest.param(
            "nginx=reg:5000/nginx:2", {"name": "nginx", "newName": "reg:5000/nginx", "newTag": "2"}, id="port"
        ),
        pytest.param("nginx@sha256:abc", {"name": "nginx", "digest": "sha256:abc"}, id="digest"),
    ],
)
def test_image_edits(image: str, entry: dict[str, str]) -> None:
    existing = {"images": [{"name": "nginx", "newTag": "old"}, {"name": "redis", "newTag": "7"}]}
    assert apply_edits(existing, KustomizeSpec(images=(image,)))["images"] == [{"name": "redis", "newTag": "7"}, entry]


def test_label_edits_follow_kustomize_edit_add_label() -> None:
    base = {"commonLabels": {"team": "a"}}
    with pytest.raises(SourceError, match="label 'team' is already in the kustomization file"):
        apply_edits(base, KustomizeSpec(commonLabels={"team": "b"}))
    assert apply_edits(base, KustomizeSpec(commonLabels={"team": "b"}, forceCommonLabels=True))["commonLabels"] == {
        "team": "b"
    }
    without = apply_edits(base, KustomizeSpec(commonLabels={"x": "1"}, labelWithoutSelector=True))
    assert without["labels"] == [{"pairs": {"x": "1"}, "includeSelectors": False}]
    assert yaml.safe_dump(without)  # still plain data
