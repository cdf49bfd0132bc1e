"""Argo CD's ``manifest-generate-paths``: which pushes concern an app, by the files they change.

An Application may list, in the annotation ``argocd.argoproj.io/manifest-generate-paths``
(semicolon-separated), the paths its manifests are generated from: relative to its source path
(``.``, ``../shared``) or from the repository root (``/shared``). A webhook push that lists its
changed files and touches none of them does not refresh the app. A push that lists no files, or
an app without the annotation, always does. A changed file counts when it is one of the paths,
lies under one, or matches one as a glob (``*`` within one path segment).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any, Final

__all__ = ["MANIFEST_GENERATE_PATHS", "files_have_changed", "refresh_paths"]

MANIFEST_GENERATE_PATHS: Final = "argocd.argoproj.io/manifest-generate-paths"


def refresh_paths(app: Mapping[str, Any]) -> list[str]:
    """The app's paths from the repository root, without a leading slash; none without the annotation."""
    metadata = app.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, Mapping) else None
    value = annotations.get(MANIFEST_GENERATE_PATHS) if isinstance(annotations, Mapping) else None
    if not isinstance(value, str):
        return []
    spec = app.get("spec")
    spec = spec if isinstance(spec, Mapping) else {}
    sources = [s for s in [spec.get("source"), *(spec.get("sources") or [])] if isinstance(s, Mapping)]
    paths = []
    for item in value.split(";"):
        if not item:
            continue
        if item.startswith("/"):
            paths.append(item[1:])
            continue
        for source in sources:
            base = source.get("path")
            paths.append(posixpath.normpath(posixpath.join(base if isinstance(base, str) else "", item)))
    return paths


def _absolute(path: str) -> str:
    return posixpath.normpath(path if path.startswith("/") else "/" + path)


def _glob(pattern: str, path: str) -> bool:
    """Go's ``filepath.Match``: ``*`` and ``?`` never match a ``/``."""
    wanted, parts = pattern.split("/"), path.split("/")
    return len(wanted) == len(parts) and all(fnmatchcase(p, w) for w, p in zip(wanted, parts, strict=True))


def files_have_changed(paths: Sequence[str], changed: Iterable[str]) -> bool:
    """Whether a push that changed ``changed`` concerns an app with these refresh ``paths``."""
    files = [_absolute(f) for f in changed]
    if not files or not paths:
        return True
    for item in map(_absolute, paths):
        for path in files:
            if path == item or path.startswith(item.rstrip("/") + "/") or _glob(item, path):
                return True
    return False
