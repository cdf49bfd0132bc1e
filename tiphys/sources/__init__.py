"""Render one revision of a source into Kubernetes objects, without talking to any cluster.

``await render(SourceSpec(repoURL=..., path=..., targetRevision=...))`` fetches the revision with
git (or reads a local directory as it is), picks the tool the way Argo CD does — a ``helm``,
``kustomize`` or ``directory`` section chooses explicitly; otherwise ``Chart.yaml`` means Helm and
a kustomization file means Kustomize (Kustomize wins when both are there, as Argo CD's discovery
has it), else plain manifests — and returns validated objects, the commit SHA and warnings.
Every failure is a :class:`SourceError` whose message names the file, path or option at fault.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tiphys.sources import git, paths
from tiphys.sources.directory import render_directory
from tiphys.sources.errors import Reason, SourceError
from tiphys.sources.helm import render_helm
from tiphys.sources.kustomize import KUSTOMIZATION_NAMES, render_kustomize
from tiphys.sources.manifests import Object, Origin
from tiphys.sources.spec import (
    DirectorySpec,
    HelmFileParameter,
    HelmParameter,
    HelmSpec,
    KustomizeReplica,
    KustomizeSpec,
    SourceSpec,
    SourceType,
)

__all__ = [
    "DirectorySpec",
    "HelmFileParameter",
    "HelmParameter",
    "HelmSpec",
    "KustomizeReplica",
    "KustomizeSpec",
    "Reason",
    "Rendered",
    "SourceError",
    "SourceSpec",
    "SourceType",
    "detect_type",
    "is_local",
    "render",
]


@dataclass(frozen=True)
class Rendered:
    objects: tuple[dict[str, Any], ...]
    revision: str  # the commit SHA; for a local directory, a hash of its files
    warnings: tuple[str, ...]
    source_type: SourceType
    origins: tuple[str, ...]  # where each object was read: "deploy/web.yaml: document 2"


def is_local(source: SourceSpec) -> bool:
    """A SOURCE that is a directory path, not a Git URL: read as it is, unless a revision is asked."""
    return not git.is_git_url(source.repoURL) and not source.targetRevision


def detect_type(source: SourceSpec, app_dir: Path) -> SourceType:
    """Argo CD's choice of tool: the explicit section, else the files in the application path."""
    explicit = source.explicit_type()
    if explicit is not None:
        return explicit
    if any((app_dir / name).is_file() for name in KUSTOMIZATION_NAMES):
        return SourceType.KUSTOMIZE
    if any(p.name.endswith("Chart.yaml") and not p.is_dir() for p in app_dir.iterdir()):
        return SourceType.HELM  # Argo CD's test is a suffix match, so `MyChart.yaml` counts too
    return SourceType.DIRECTORY


def _local_revision(root: Path) -> str:
    """A stable stand-in for a commit SHA: a hash of every file's path and bytes under ``root``."""
    digest = hashlib.sha1(usedforsecurity=False)
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        for name in sorted(filenames):
            path = Path(directory, name)
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            if path.is_symlink():
                digest.update(b"->" + os.readlink(path).encode())
            elif path.is_file():
                digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()


async def render(
    source: SourceSpec,
    *,
    app_name: str = "",
    namespace: str = "",
    kube_version: str = "",
    api_versions: Sequence[str] = (),
    cache_dir: Path | None = None,
    timeout: float = 300.0,
) -> Rendered:
    """Fetch and render ``source``; ``app_name`` is Helm's default release name, ``namespace``
    the destination namespace Helm templates see; ``cache_dir`` overrides the Git cache."""
    source_type = source.explicit_type()  # refuse two sections before any fetch
    if is_local(source):
        root = Path(source.repoURL or ".").expanduser().resolve()
        if not root.is_dir():
            raise SourceError(
                Reason.PATH_NOT_FOUND,
                f"{source.repoURL!r} is neither a directory nor a Git URL (https, ssh, git, file)",
            )
        app_dir = paths.resolve_app_path(root, source.path)
        paths.check_symlinks(app_dir, root)
        revision = _local_revision(root)
    else:
        checkout = await git.checkout(source.repoURL, source.targetRevision, cache_dir=cache_dir, timeout=timeout)
        root, revision = checkout.root, checkout.revision
        paths.check_symlinks(root, root)
        app_dir = paths.resolve_app_path(root, source.path)
    source_type = source_type or detect_type(source, app_dir)
    warnings: list[str] = []
    found: list[tuple[Origin, Object]]
    if source_type is SourceType.HELM:
        found, warnings = await render_helm(
            source.helm or HelmSpec(),
            root=root,
            app_dir=app_dir,
            release_name=app_name,
            namespace=namespace,
            kube_version=kube_version,
            api_versions=api_versions,
            timeout=timeout,
        )
    elif source_type is SourceType.KUSTOMIZE:
        found, warnings = await render_kustomize(source.kustomize, root=root, app_dir=app_dir, timeout=timeout)
    else:
        result = render_directory(app_dir, root, source.directory or DirectorySpec())
        found, warnings = result.found, result.warnings
    return Rendered(
        objects=tuple(obj for _, obj in found),
        revision=revision,
        warnings=tuple(warnings),
        source_type=source_type,
        origins=tuple(str(origin) for origin, _ in found),
    )
