"""Plain manifests: the YAML and JSON files of a directory, read as Argo CD's repo-server reads them.

Files are visited in lexical order, depth first (Go's ``filepath.Walk``); subdirectories only
with ``recurse``. A file counts when its name ends in ``.yaml``, ``.yml`` or ``.json``
(``.jsonnet`` is refused: Tiphys has no Jsonnet), then ``exclude`` and ``include`` are matched
against its path relative to the application directory. A file containing
``+argocd:skip-file-rendering`` is skipped. A symlinked file must stay inside the repository; a
dangling one, or one to a directory, is skipped with a warning.

A file whose first document is not an object (bad YAML, no ``kind``) is taken for an unrelated
file (a stray ``values.yaml``) and skipped with a warning, as Argo CD does — but only when it
mentions none of ``apiVersion``, ``kind`` and ``metadata``. Argo CD skips it unless it mentions
all three, which silently drops a manifest that lost its ``kind:`` (and then prunes the object);
Tiphys refuses that file instead. A JSON syntax error is always an error, as in Argo CD.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tiphys.sources import manifests, paths
from tiphys.sources.errors import Reason, SourceError
from tiphys.sources.globs import glob_match
from tiphys.sources.manifests import NotAnObjectError, Object, Origin
from tiphys.sources.spec import DirectorySpec

__all__ = ["DirectoryResult", "find_manifest_files", "render_directory"]

MANIFEST_FILE = re.compile(r"^.*\.(yaml|yml|json|jsonnet)$")
SKIP_MARKER = b"+argocd:skip-file-rendering"
_YAML_MARKERS = (b"apiVersion:", b"kind:", b"metadata:")
_JSON_MARKERS = (b'"apiVersion"', b'"kind"', b'"metadata"')


@dataclass(frozen=True)
class DirectoryResult:
    found: list[tuple[Origin, Object]]
    warnings: list[str]


def find_manifest_files(app_dir: Path, root: Path, spec: DirectorySpec, warnings: list[str]) -> list[Path]:
    """The manifest files of ``app_dir``, in Argo CD's order; skipped oddities go to ``warnings``."""
    real_root = root.resolve()
    files = []
    for path in _walk(app_dir, recurse=spec.recurse):
        rel = path.relative_to(app_dir).as_posix()
        if not MANIFEST_FILE.match(path.name):
            continue
        shown = paths.relative(path, real_root)
        real = path
        if path.is_symlink():
            real = Path(os.path.realpath(path))
            if not paths.is_inside(real, real_root):
                raise SourceError(Reason.PATH_OUTSIDE_ROOT, f"{shown}: symlink leads outside the repository")
            if not real.exists():
                warnings.append(f"{shown}: skipped, the destination of the symlink is missing")
                continue
        if not real.is_file():
            warnings.append(f"{shown}: skipped, not a regular file")
            continue
        if spec.exclude and glob_match(spec.exclude, rel):
            continue
        if spec.include and not glob_match(spec.include, rel):
            continue
        if path.suffix == ".jsonnet":
            raise SourceError(
                Reason.INVALID_MANIFEST,
                f"{shown}: Jsonnet is not supported by Tiphys; "
                "render it to YAML or leave it out with directory.exclude",
            )
        files.append(path)
    return files


def _walk(directory: Path, *, recurse: bool) -> Iterator[Path]:
    with os.scandir(directory) as scan:
        entries = sorted(scan, key=lambda e: e.name)
    for entry in entries:
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            if recurse:
                yield from _walk(path, recurse=recurse)
        else:
            yield path


def render_directory(app_dir: Path, root: Path, spec: DirectorySpec) -> DirectoryResult:
    """Every object in the manifest files of ``app_dir``, validated, with where it came from."""
    warnings: list[str] = []
    found: list[tuple[Origin, Object]] = []
    real_root = root.resolve()
    for path in find_manifest_files(app_dir, root, spec, warnings):
        data = path.read_bytes()
        if SKIP_MARKER in data:
            continue
        shown = paths.relative(path, real_root)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise SourceError(Reason.INVALID_MANIFEST, f"{shown}: not UTF-8 text ({e.reason} at byte {e.start})") from e
        parse = manifests.parse_json if path.suffix == ".json" else manifests.parse_yaml
        before = len(found)
        try:
            for origin, document in parse(text, shown):
                found.extend(manifests.objects_from(origin, document))
        except NotAnObjectError as e:
            markers = _JSON_MARKERS if path.suffix == ".json" else _YAML_MARKERS
            if len(found) > before or any(marker in data for marker in markers):
                raise
            warnings.append(f"{shown}: skipped, not a Kubernetes manifest ({e.message.removeprefix(shown + ': ')})")
    manifests.check_duplicates(found)
    return DirectoryResult(found, warnings)
