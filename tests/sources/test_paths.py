"""Every user-given path stays inside the checkout, or is refused with its name in the message."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tiphys.sources import Reason, SourceError
from tiphys.sources.paths import check_symlinks, resolve_app_path, resolve_in_repo


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "apps" / "web").mkdir(parents=True)
    (root / "apps" / "web" / "values.yaml").write_text("a: 1\n")
    (root / "common").mkdir()
    (root / "common" / "values.yaml").write_text("b: 2\n")
    (tmp_path / "secret.yaml").write_text("password: x\n")
    return root


@pytest.mark.parametrize(
    "path, expected",
    [
        pytest.param("", ".", id="empty-is-root"),
        pytest.param(".", ".", id="dot"),
        pytest.param("apps/web", "apps/web", id="nested"),
        pytest.param("apps/../apps/web/", "apps/web", id="dotdot-inside"),
    ],
)
def test_app_path_inside(root: Path, path: str, expected: str) -> None:
    assert resolve_app_path(root, path) == (root / expected).resolve()


@pytest.mark.parametrize(
    "path, reason, message",
    [
        pytest.param("../", Reason.PATH_OUTSIDE_ROOT, "path '../' resolves outside the repository", id="dotdot"),
        pytest.param(
            "apps/../../x", Reason.PATH_OUTSIDE_ROOT, "path 'apps/../../x' resolves outside the repository", id="deep"
        ),
        pytest.param(
            "/etc",
            Reason.PATH_OUTSIDE_ROOT,
            "path '/etc': absolute paths are not allowed; give a path relative to the repository root",
            id="absolute",
        ),
        pytest.param("nope", Reason.PATH_NOT_FOUND, "path 'nope' does not exist in the repository", id="missing"),
        pytest.param(
            "apps/web/values.yaml", Reason.PATH_NOT_FOUND, "path 'apps/web/values.yaml' is not a directory", id="file"
        ),
    ],
)
def test_app_path_refused(root: Path, path: str, reason: Reason, message: str) -> None:
    with pytest.raises(SourceError) as e:
        resolve_app_path(root, path)
    assert (e.value.reason, e.value.message) == (reason, message)


def test_app_path_symlink_out_is_refused(root: Path, tmp_path: Path) -> None:
    (root / "out").symlink_to(tmp_path)
    with pytest.raises(SourceError, match="path 'out' is a symlink that leads outside the repository"):
        resolve_app_path(root, "out")


@pytest.mark.parametrize(
    "name, expected",
    [
        pytest.param("values.yaml", "apps/web/values.yaml", id="relative-to-app"),
        pytest.param("../../common/values.yaml", "common/values.yaml", id="dotdot-inside-repo"),
        pytest.param("/common/values.yaml", "common/values.yaml", id="leading-slash-is-repo-root"),
    ],
)
def test_repo_file_inside(root: Path, name: str, expected: str) -> None:
    app = root / "apps" / "web"
    assert resolve_in_repo(root, app, name, what="values file") == (root / expected).resolve()


@pytest.mark.parametrize(
    "name, message",
    [
        pytest.param(
            "../../../secret.yaml", "values file '../../../secret.yaml' resolves outside the repository", id="escape"
        ),
        pytest.param(
            "/etc/passwd", "values file '/etc/passwd' does not exist in the repository", id="absolute-is-repo-relative"
        ),
        pytest.param(
            "https://example.com/v.yaml",
            "values file 'https://example.com/v.yaml': remote URLs are not supported; "
            "commit the file to the repository",
            id="url",
        ),
    ],
)
def test_repo_file_refused(root: Path, name: str, message: str) -> None:
    with pytest.raises(SourceError) as e:
        resolve_in_repo(root, root / "apps" / "web", name, what="values file")
    assert e.value.message == message


def test_repo_file_symlink_out_is_refused(root: Path, tmp_path: Path) -> None:
    (root / "apps" / "web" / "link.yaml").symlink_to(tmp_path / "secret.yaml")
    with pytest.raises(SourceError) as e:
        resolve_in_repo(root, root / "apps" / "web", "link.yaml", what="values file")
    assert e.value.reason is Reason.PATH_OUTSIDE_ROOT
    assert e.value.message == "values file 'link.yaml' is a symlink that leads outside the repository"


@pytest.mark.parametrize(
    "target, message",
    [
        pytest.param("../../../secret.yaml", "apps/web/bad.yaml: symlink leads outside the repository", id="relative"),
        pytest.param("/etc/hostname", "apps/web/bad.yaml: symlink to an absolute path", id="absolute"),
        pytest.param("../../../repo/../x", "apps/web/bad.yaml: symlink leads outside", id="climbs-out-and-back"),
    ],
)
def test_check_symlinks_refuses_links_out(root: Path, target: str, message: str) -> None:
    os.symlink(target, root / "apps" / "web" / "bad.yaml")
    with pytest.raises(SourceError) as e:
        check_symlinks(root, root)
    assert e.value.reason is Reason.PATH_OUTSIDE_ROOT
    assert e.value.message.startswith(message)


def test_check_symlinks_allows_links_inside(root: Path) -> None:
    os.symlink("../../common/values.yaml", root / "apps" / "web" / "shared.yaml")
    os.symlink("missing.yaml", root / "apps" / "web" / "dangling.yaml")
    check_symlinks(root, root)
