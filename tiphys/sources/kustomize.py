"""Kustomize: ``kustomize build`` (or ``kubectl kustomize``) on the application directory.

With no ``kustomize`` section options the checkout is built in place. Options are applied the way
Argo CD applies them, by editing the kustomization before the build (``kustomize edit set
nameprefix``, ``set image``, ``add label``, ``add component``…); since checkouts are read-only
and shared, the edits go to a throw-away copy of the repository. Components are resolved inside
the repository first. kubectl's gcloud dispatcher wants a HOME, so the tool gets a temporary one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from tiphys.sources import _process, manifests, paths
from tiphys.sources.errors import Reason, SourceError
from tiphys.sources.manifests import Object, Origin
from tiphys.sources.spec import KustomizeSpec

__all__ = ["KUSTOMIZATION_NAMES", "apply_edits", "find_kustomization", "kustomize_argv", "render_kustomize"]

KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def find_kustomization(directory: Path) -> Path | None:
    for name in KUSTOMIZATION_NAMES:
        if (directory / name).is_file():
            return directory / name
    return None


def kustomize_argv(directory: Path) -> list[str]:
    """``kustomize build DIR`` when a kustomize binary is on PATH, else ``kubectl kustomize DIR``."""
    kustomize = shutil.which("kustomize")
    if kustomize:
        return [kustomize, "build", str(directory)]
    kubectl = shutil.which("kubectl")
    if kubectl:
        return [kubectl, "kustomize", str(directory)]
    raise SourceError(Reason.TOOL_MISSING, "kustomize is not installed: put kustomize or kubectl on PATH")


def _split_image(image: str) -> tuple[str, str, str]:
    """``name[:tag][@digest]`` into its three parts (a `:` before the last `/` is a registry port)."""
    name, _, digest = image.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1 :], digest
    return name, "", digest


def _image_entry(argument: str) -> dict[str, str]:
    """One ``kustomize edit set image`` argument: ``[old=]new[:tag|@digest]``."""
    old, has_old, new = argument.partition("=")
    if not has_old:
        new = argument
    name, tag, digest = _split_image(new)
    entry = {"name": old if has_old else name}
    if has_old and name != old:
        entry["newName"] = name
    if tag:
        entry["newTag"] = tag
    if digest:
        entry["digest"] = digest
    return entry


def _merge_by_name(existing: Any, entries: list[dict[str, Any]]) -> list[Any]:
    names = {e["name"] for e in entries}
    kept = [e for e in existing or () if not (isinstance(e, dict) and e.get("name") in names)]
    return kept + entries


def _add_pairs(kustomization: dict[str, Any], field: str, pairs: Mapping[str, str], *, force: bool) -> None:
    current = kustomization.get(field) or {}
    for key, value in pairs.items():
        if key in current and current[key] != value and not force:
            what = "label" if field == "commonLabels" else "annotation"
            raise SourceError(
                Reason.INVALID_SOURCE,
                f"kustomize.{field}: {what} {key!r} is already in the kustomization file; "
                f"set force{field[0].upper()}{field[1:]} to replace it",
            )
        current[key] = value
    kustomization[field] = current


def apply_edits(kustomization: dict[str, Any], spec: KustomizeSpec) -> dict[str, Any]:
    """The kustomization after Argo CD's ``kustomize edit`` calls for ``spec`` (a new dict)."""
    k = dict(kustomization)
    if spec.namePrefix:
        k["namePrefix"] = spec.namePrefix
    if spec.nameSuffix:
        k["nameSuffix"] = spec.nameSuffix
    if spec.images:
        k["images"] = _merge_by_name(k.get("images"), [_image_entry(i) for i in spec.images])
    if spec.replicas:
        k["replicas"] = _merge_by_name(k.get("replicas"), [{"name": r.name, "count": r.count} for r in spec.replicas])
    if spec.commonLabels and spec.labelWithoutSelector:
        entry: dict[str, Any] = {"pairs": dict(spec.commonLabels), "includeSelectors": False}
        if spec.labelIncludeTemplates:
            entry["includeTemplates"] = True
        k["labels"] = [*(k.get("labels") or ()), entry]
    elif spec.commonLabels:
        _add_pairs(k, "commonLabels", spec.commonLabels, force=spec.forceCommonLabels)
    if spec.commonAnnotations:
        _add_pairs(k, "commonAnnotations", spec.commonAnnotations, force=spec.forceCommonAnnotations)
    if spec.namespace:
        k["namespace"] = spec.namespace
    if spec.patches:
        k["patches"] = [*(k.get("patches") or ()), *(dict(p) for p in spec.patches)]
    return k


def _components(spec: KustomizeSpec, root: Path, app_dir: Path, warnings: list[str]) -> list[str]:
    found = []
    for name in spec.components:
        if name.startswith("/"):
            where = paths.relative(app_dir, root.resolve())
            raise SourceError(
                Reason.PATH_OUTSIDE_ROOT,
                f"kustomize component {name!r}: absolute paths are not allowed; give a path relative to {where!r}",
            )
        try:
            paths.resolve_in_repo(root, app_dir, name, what="kustomize component", directory=True)
        except SourceError as e:
            if e.reason is not Reason.PATH_NOT_FOUND or not spec.ignoreMissingComponents:
                raise
            warnings.append(f"kustomize component {name!r} does not exist: ignored (ignoreMissingComponents)")
            continue
        found.append(name)
    return found


def _edited_copy(spec: KustomizeSpec, root: Path, app_dir: Path, scratch: Path, warnings: list[str]) -> Path:
    """Copy the repository to ``scratch`` and apply ``spec`` to the copy's kustomization."""
    real_root = root.resolve()
    original = find_kustomization(app_dir)
    if original is None:
        raise SourceError(
            Reason.PATH_NOT_FOUND, f"{paths.relative(app_dir, real_root)}: no kustomization.yaml in the path"
        )
    components = _components(spec, root, app_dir, warnings)
    copy_root = scratch / "repo"
    shutil.copytree(real_root, copy_root, symlinks=True, ignore=shutil.ignore_patterns(".git"))
    for directory, _dirnames, _filenames in os.walk(copy_root):
        os.chmod(directory, 0o700)
    copy_dir = copy_root / app_dir.relative_to(real_root)
    try:
        loaded = yaml.load(original.read_text(), Loader=yaml.CSafeLoader) or {}
    except yaml.YAMLError as e:
        raise SourceError(Reason.KUSTOMIZE_FAILED, f"{paths.relative(original, real_root)}: {e}") from e
    if not isinstance(loaded, dict):
        raise SourceError(Reason.KUSTOMIZE_FAILED, f"{paths.relative(original, real_root)}: not a mapping")
    edited = apply_edits(loaded, spec)
    if components:
        present = list(edited.get("components") or ())
        edited["components"] = present + [c for c in components if c not in present]
    target = copy_dir / original.name
    target.unlink()
    target.write_text(yaml.safe_dump(edited, sort_keys=False))
    return copy_dir


async def render_kustomize(
    spec: KustomizeSpec | None, *, root: Path, app_dir: Path, timeout: float = 120.0
) -> tuple[list[tuple[Origin, Object]], list[str]]:
    """Build the kustomization in ``app_dir``; return its objects and any warnings."""
    warnings: list[str] = []
    real_root = root.resolve()
    shown = paths.relative(app_dir, real_root)
    with tempfile.TemporaryDirectory(prefix="tiphys-kustomize-") as scratch:
        build_root, build_dir = real_root, app_dir
        if spec is not None and spec.edits:
            build_dir = _edited_copy(spec, root, app_dir, Path(scratch), warnings)
            build_root = Path(scratch) / "repo"
        env = {**os.environ, "HOME": scratch, "XDG_CONFIG_HOME": f"{scratch}/config"}
        result = await _process.run(
            kustomize_argv(build_dir),
            what="kustomize build",
            reason=Reason.KUSTOMIZE_FAILED,
            env=env,
            timeout=timeout,
            cwd=build_root,
        )
        if not result.ok:
            detail = result.stderr.replace(str(build_root) + "/", "").replace(str(build_root), ".")
            raise SourceError(Reason.KUSTOMIZE_FAILED, f"kustomize build {shown} failed: {detail}")
    found = []
    for origin, document in manifests.parse_yaml(result.stdout.decode("utf-8", "replace"), f"kustomize build {shown}"):
        found.extend(manifests.objects_from(origin, document))
    manifests.check_duplicates(found)
    return found, warnings
