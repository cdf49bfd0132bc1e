"""Helm charts: ``helm template`` with the flags Argo CD passes, its output read as objects.

The command is Argo CD's (``util/helm/cmd.go``)::

    helm template . --name-template NAME --namespace NS [--kube-version V]
        [--set k=v]... [--set-string k=v]... [--set-file k=path]...
        [--values file]... [--values <inline values>] [--api-versions v]...
        [--include-crds] [--skip-schema-validation] [--skip-tests]

run in the chart directory with a throw-away Helm home, so no repository config or cache of the
user's leaks in. Value files and file parameters are resolved inside the repository first (a
leading ``/`` means the repository root); inline ``values``/``valuesObject`` go last, so they win.
Hooks are rendered too: the engine maps ``helm.sh/hook`` onto Argo CD's phases.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import yaml

from tiphys.sources import _process, manifests, paths
from tiphys.sources.errors import Reason, SourceError
from tiphys.sources.manifests import Object, Origin
from tiphys.sources.spec import HelmSpec

__all__ = ["find_helm", "helm_argv", "render_helm", "split_helm_output"]

_SEPARATOR = re.compile(r"^---[ \t]*$", re.MULTILINE)
_SOURCE = re.compile(r"^# Source: (.+?)\s*$", re.MULTILINE)
_VALUES_PLACEHOLDER = "<temp file with values from source.helm.values/valuesObject>"


def find_helm() -> str:
    """helm on PATH, else the one ``make setup`` put beside this Python (``.venv/bin/helm``)."""
    found = shutil.which("helm")
    if found:
        return found
    beside = Path(sys.executable).parent / "helm"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    raise SourceError(
        Reason.TOOL_MISSING, "helm is not installed: run `make setup` (installs it into .venv/bin) or put helm on PATH"
    )


def _escape_commas(value: str) -> str:
    """Argo CD's ``cleanSetParameters``: `,` separates --set pairs, so escape it unless in `{a,b}`."""
    if value.startswith("{") and value.endswith("}"):
        return value
    return re.sub(r"(?<!\\),", r"\\,", value)


def helm_argv(
    helm: str,
    spec: HelmSpec,
    *,
    release_name: str,
    namespace: str,
    kube_version: str,
    api_versions: Sequence[str],
    value_files: Sequence[Path],
    file_parameters: Sequence[tuple[str, Path]],
    extra_values: Path | None,
) -> list[str]:
    """The ``helm template`` command line, in the order Argo CD builds it."""
    argv = [helm, "template", "."]
    if release_name:
        argv += ["--name-template", release_name]
    if namespace:
        argv += ["--namespace", namespace]
    if kube_version:
        argv += ["--kube-version", kube_version]
    for p in spec.parameters:
        if not p.forceString:
            argv += ["--set", f"{p.name}={_escape_commas(p.value)}"]
    for p in spec.parameters:
        if p.forceString:
            argv += ["--set-string", f"{p.name}={_escape_commas(p.value)}"]
    for name, path in file_parameters:
        argv += ["--set-file", f"{name}={_escape_commas(str(path))}"]
    for path in value_files:
        argv += ["--values", str(path)]
    if extra_values is not None:
        argv += ["--values", str(extra_values)]
    for version in api_versions:
        argv += ["--api-versions", version]
    if not spec.skipCrds:
        argv.append("--include-crds")
    if spec.skipSchemaValidation:
        argv.append("--skip-schema-validation")
    if spec.skipTests:
        argv.append("--skip-tests")
    return argv


def _inline_values(spec: HelmSpec) -> str:
    values = spec.valuesObject if spec.valuesObject is not None else spec.values
    if isinstance(values, str):
        return values
    return yaml.safe_dump(dict(values), sort_keys=False)


def _resolve_value_files(spec: HelmSpec, root: Path, app_dir: Path, warnings: list[str]) -> list[Path]:
    resolved = []
    for name in spec.valueFiles:
        try:
            resolved.append(paths.resolve_in_repo(root, app_dir, name, what="values file"))
        except SourceError as e:
            if e.reason is not Reason.PATH_NOT_FOUND or not spec.ignoreMissingValueFiles:
                raise
            warnings.append(f"values file {name!r} does not exist: ignored (ignoreMissingValueFiles)")
    return resolved


def split_helm_output(text: str) -> list[tuple[Origin, Object]]:
    """Objects from ``helm template`` output, each named by its ``# Source:`` template.

    helm sorts the documents (by kind, hooks last), so a document's place in its template is
    lost: origins name the template only.
    """
    found: list[tuple[Origin, Object]] = []
    source = "helm template"
    for chunk in _SEPARATOR.split(text):
        match = _SOURCE.search(chunk)
        if match:
            source = match.group(1)
        for _, document in manifests.parse_yaml(chunk, source):
            found.extend(manifests.objects_from(Origin(source, None), document))
    return found


async def render_helm(
    spec: HelmSpec,
    *,
    root: Path,
    app_dir: Path,
    release_name: str,
    namespace: str,
    kube_version: str = "",
    api_versions: Sequence[str] = (),
    timeout: float = 120.0,
) -> tuple[list[tuple[Origin, Object]], list[str]]:
    """Render the chart in ``app_dir``; return its objects and any warnings."""
    warnings: list[str] = []
    value_files = _resolve_value_files(spec, root, app_dir, warnings)
    file_parameters = [
        (p.name, paths.resolve_in_repo(root, app_dir, p.path, what="file parameter")) for p in spec.fileParameters
    ]
    helm = find_helm()
    with tempfile.TemporaryDirectory(prefix="tiphys-helm-") as scratch:
        extra_values = None
        inline = _inline_values(spec)
        if inline.strip():
            extra_values = Path(scratch, "values.yaml")
            extra_values.write_text(inline)
        argv = helm_argv(
            helm,
            spec,
            release_name=spec.releaseName or release_name,
            namespace=spec.namespace or namespace,
            kube_version=spec.kubeVersion or kube_version,
            api_versions=spec.apiVersions or tuple(api_versions),
            value_files=value_files,
            file_parameters=file_parameters,
            extra_values=extra_values,
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("HELM_")}
        env.update(
            HOME=scratch,
            XDG_CACHE_HOME=f"{scratch}/cache",
            XDG_CONFIG_HOME=f"{scratch}/config",
            XDG_DATA_HOME=f"{scratch}/data",
            HELM_CONFIG_HOME=f"{scratch}/config",
        )
        result = await _process.run(
            argv, what="helm template", reason=Reason.HELM_FAILED, env=env, timeout=timeout, cwd=app_dir
        )
        if not result.ok:
            detail = result.stderr.replace(str(extra_values), _VALUES_PLACEHOLDER) if extra_values else result.stderr
            detail = detail.replace(str(root.resolve()) + "/", "").replace(str(root.resolve()), ".")
            chart = paths.relative(app_dir, root.resolve())
            raise SourceError(Reason.HELM_FAILED, f"helm template {chart} failed: {detail}")
    found = split_helm_output(result.stdout.decode("utf-8", "replace"))
    manifests.check_duplicates(found)
    return found, warnings
