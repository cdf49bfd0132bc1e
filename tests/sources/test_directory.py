"""Plain directories, read as Argo CD reads them: which files count, in which order, and bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tiphys.sources import DirectorySpec, Reason, Rendered, SourceError, SourceSpec, SourceType, render

from .conftest import configmap


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


async def render_dir(root: Path, path: str = "", directory: DirectorySpec | None = None) -> Rendered:
    return await render(SourceSpec(repoURL=str(root), path=path, directory=directory))


def names(rendered: Rendered) -> list[str]:
    return [obj["metadata"]["name"] for obj in rendered.objects]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return write(
        tmp_path / "app",
        {
            "b.yaml": configmap("b") + "---\n" + configmap("b2"),
            "a.yml": configmap("a"),
            "c.json": json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
            "README.md": "# not a manifest\n",
            "sub/d.yaml": configmap("d"),
            "sub/deeper/e.yaml": configmap("e"),
            "env-usw2/f.yaml": configmap("f"),
        },
    )


async def test_top_level_only_by_default_in_lexical_order(tree: Path) -> None:
    rendered = await render_dir(tree)
    assert names(rendered) == ["a", "b", "b2", "c"]
    assert rendered.source_type is SourceType.DIRECTORY
    assert rendered.origins == (
        "a.yml: document 1",
        "b.yaml: document 1",
        "b.yaml: document 2",
        "c.json: document 1",
    )


async def test_recurse_walks_depth_first_in_lexical_order(tree: Path) -> None:
    rendered = await render_dir(tree, directory=DirectorySpec(recurse=True))
    assert names(rendered) == ["a", "b", "b2", "c", "f", "d", "e"]


@pytest.mark.parametrize(
    "include, exclude, expected",
    [
        pytest.param("*.yaml", "", ["b", "b2", "f", "d", "e"], id="include-star-crosses-dirs"),
        pytest.param("{*.yml,*.json}", "", ["a", "c"], id="include-braces"),
        pytest.param("", "{c.json,env-usw2/*}", ["a", "b", "b2", "d", "e"], id="exclude-braces"),
        pytest.param("*.yaml", "sub/*", ["b", "b2", "f"], id="include-and-exclude"),
        pytest.param("sub/*", "", ["d", "e"], id="a-directory"),
    ],
)
async def test_include_exclude(tree: Path, include: str, exclude: str, expected: list[str]) -> None:
    rendered = await render_dir(tree, directory=DirectorySpec(recurse=True, include=include, exclude=exclude))
    assert names(rendered) == expected


async def test_path_selects_a_subdirectory(tree: Path) -> None:
    assert names(await render_dir(tree, path="sub")) == ["d"]


async def test_unrelated_yaml_and_skip_marker_are_skipped(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "cm.yaml": configmap("cm"),
            "settings.yaml": "replicas: [1, 2\n",  # broken, and not a manifest: Argo CD ignores it
            "values.yaml": "image: nginx\n",  # no kind, and does not look like a manifest either
            "package.json": '{"name": "tools", "version": "1.0.0"}',
            "draft.yaml": "# +argocd:skip-file-rendering\napiVersion: v1\nkind: ConfigMap\n",
        },
    )
    rendered = await render_dir(root)
    assert names(rendered) == ["cm"]
    assert rendered.warnings == (
        "package.json: skipped, not a Kubernetes manifest (document 1: object has no kind)",
        "settings.yaml: skipped, not a Kubernetes manifest (document 1: did not find expected ',' or ']' (line 2))",
        "values.yaml: skipped, not a Kubernetes manifest (document 1: object has no kind)",
    )


async def test_local_revision_is_a_stable_content_hash(tree: Path) -> None:
    first, again = await render_dir(tree), await render_dir(tree)
    assert first.revision == again.revision and len(first.revision) == 40
    (tree / "a.yml").write_text(configmap("a", x="1"))
    assert (await render_dir(tree)).revision != first.revision


@pytest.mark.parametrize(
    "files, message",
    [
        pytest.param(
            {"deploy/web.yaml": configmap("ok") + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x: y\n"},
            "deploy/web.yaml: document 2: mapping values are not allowed in this context (line 9)",
            id="malformed-yaml",
        ),
        pytest.param(
            {"deploy/web.yaml": "apiVersion: v1\nmetadata:\n  name: a\n"},
            "deploy/web.yaml: document 1: object has no kind",
            id="no-kind-but-looks-like-a-manifest",
        ),
        pytest.param(
            {"deploy/web.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  namespace: x\n"},
            "deploy/web.yaml: document 1: ConfigMap has no metadata.name (nor generateName)",
            id="no-name",
        ),
        pytest.param(
            {"deploy/a.yaml": configmap("web"), "deploy/b.yaml": configmap("x") + "---\n" + configmap("web")},
            "duplicate object ConfigMap web: defined in deploy/a.yaml: document 1 and in deploy/b.yaml: document 2",
            id="duplicate",
        ),
        pytest.param(
            {"deploy/a.json": '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}'},
            "deploy/a.json: Expecting ',' delimiter (line 1)",
            id="malformed-json",
        ),
        pytest.param(
            {"deploy/gen.jsonnet": "{}"},
            "deploy/gen.jsonnet: Jsonnet is not supported by Tiphys; "
            "render it to YAML or leave it out with directory.exclude",
            id="jsonnet",
        ),
    ],
)
async def test_bad_input_names_the_file(tmp_path: Path, files: dict[str, str], message: str) -> None:
    write(tmp_path, files)
    with pytest.raises(SourceError) as e:
        await render_dir(tmp_path, path="deploy")
    assert e.value.reason.bad_input
    assert e.value.message == message


async def test_symlinked_manifest_inside_is_read(tmp_path: Path) -> None:
    write(tmp_path, {"shared/cm.yaml": configmap("shared"), "app/own.yaml": configmap("own")})
    os.symlink("../shared/cm.yaml", tmp_path / "app" / "link.yaml")
    assert names(await render_dir(tmp_path, path="app")) == ["shared", "own"]


async def test_symlink_out_of_the_repository_is_refused(tmp_path: Path) -> None:
    write(tmp_path, {"outside.yaml": configmap("secret"), "repo/app/own.yaml": configmap("own")})
    os.symlink("../../outside.yaml", tmp_path / "repo" / "app" / "link.yaml")
    with pytest.raises(SourceError) as e:
        await render_dir(tmp_path / "repo", path="app")
    assert e.value.reason is Reason.PATH_OUTSIDE_ROOT
    assert e.value.message == "app/link.yaml: symlink leads outside the repository (to ../../outside.yaml)"


async def test_dangling_symlink_is_skipped_with_a_warning(tmp_path: Path) -> None:
    write(tmp_path, {"own.yaml": configmap("own")})
    os.symlink("gone.yaml", tmp_path / "link.yaml")
    rendered = await render_dir(tmp_path)
    assert names(rendered) == ["own"]
    assert rendered.warnings == ("link.yaml: skipped, the destination of the symlink is missing",)


@pytest.mark.parametrize(
    "path, message",
    [
        pytest.param("../", "path '../' resolves outside the repository", id="dotdot"),
        pytest.param(
            "/etc", "path '/etc': absolute paths are not allowed; give a path relative to the repository root", id="abs"
        ),
    ],
)
async def test_paths_outside_are_refused(tmp_path: Path, path: str, message: str) -> None:
    with pytest.raises(SourceError) as e:
        await render_dir(write(tmp_path, {"a.yaml": configmap("a")}), path=path)
    assert e.value.reason is Reason.PATH_OUTSIDE_ROOT
    assert e.value.message == message


async def test_not_a_directory_nor_url(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="is neither a directory nor a Git URL"):
        await render(SourceSpec(repoURL=str(tmp_path / "missing")))
