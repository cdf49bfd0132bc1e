"""Argo CD's manifest-generate-paths rule (util/app/path: GetAppRefreshPaths, AppFilesHaveChanged)."""

from __future__ import annotations

from typing import Any

import pytest

from tiphys.controller.generate_paths import MANIFEST_GENERATE_PATHS, files_have_changed, refresh_paths


def app(paths: str | None, source_path: str = "apps/web", **spec: Any) -> dict[str, Any]:
    annotations = {MANIFEST_GENERATE_PATHS: paths} if paths is not None else {}
    return {
        "metadata": {"name": "web", "annotations": annotations},
        "spec": {"source": {"repoURL": "https://git.example/r.git", "path": source_path}, **spec},
    }


def test_relative_paths_start_at_the_source_path_and_absolute_ones_at_the_root() -> None:
    assert refresh_paths(app(".;../shared;/charts/common;;")) == ["apps/web", "apps/shared", "charts/common"]
    assert refresh_paths(app(".", source_path="")) == ["."]
    assert refresh_paths(app(None)) == []


def test_each_source_of_a_multi_source_app_contributes() -> None:
    found = app("values", source_path="", sources=[{"path": "a"}, {"path": "b"}])
    del found["spec"]["source"]
    assert refresh_paths(found) == ["a/values", "b/values"]


@pytest.mark.parametrize(
    ("paths", "changed", "concerned"),
    [
        (["apps/web"], ["apps/web/deployment.yaml"], True),
        (["apps/web"], ["apps/web"], True),
        (["apps/web"], ["apps/webhooks/x.yaml"], False),  # a sibling that shares a prefix
        (["apps/web"], ["apps/api/deployment.yaml", "README.md"], False),
        (["apps/web", "charts/common"], ["charts/common/values.yaml"], True),
        (["apps/*/values.yaml"], ["apps/web/values.yaml"], True),
        (["apps/*.yaml"], ["apps/web/values.yaml"], False),  # * stays within one segment
        (["."], ["anything/at/all.yaml"], True),  # the repository root
        (["apps/web"], [], True),  # a push that lists no files refreshes every app
        ([], ["README.md"], True),  # an app without the annotation always refreshes
    ],
)
def test_a_push_concerns_an_app_when_it_changes_one_of_its_paths(
    paths: list[str], changed: list[str], concerned: bool
) -> None:
    assert files_have_changed(paths, changed) is concerned
