"""What to render: an Application's ``spec.source`` with Argo CD's field names.

The dataclasses mirror ``ApplicationSource`` and its ``directory``, ``helm`` and ``kustomize``
sections field by field (camelCase on purpose, so ``SourceSpec.from_dict(app["spec"]["source"])``
and the docs of Argo CD read the same). Setting one of the three sections picks the tool
explicitly, as in Argo CD; setting more than one is an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tiphys.sources.errors import Reason, SourceError

__all__ = [
    "DirectorySpec",
    "HelmFileParameter",
    "HelmParameter",
    "HelmSpec",
    "KustomizeReplica",
    "KustomizeSpec",
    "SourceSpec",
    "SourceType",
]


class SourceType(StrEnum):
    """Argo CD's ``ApplicationSourceType`` values for the tools Tiphys runs."""

    DIRECTORY = "Directory"
    HELM = "Helm"
    KUSTOMIZE = "Kustomize"


@dataclass(frozen=True)
class DirectorySpec:
    recurse: bool = False
    include: str = ""  # a glob on the path relative to `path`; `{a,b}` for several
    exclude: str = ""


@dataclass(frozen=True)
class HelmParameter:
    name: str
    value: str = ""
    forceString: bool = False  # --set-string instead of --set


@dataclass(frozen=True)
class HelmFileParameter:
    name: str
    path: str  # resolved inside the repository, like valueFiles


@dataclass(frozen=True)
class HelmSpec:
    releaseName: str = ""  # default: the application's name
    namespace: str = ""  # default: the destination namespace
    valueFiles: tuple[str, ...] = ()  # relative to `path`; a leading `/` means the repository root
    ignoreMissingValueFiles: bool = False
    values: str | Mapping[str, Any] = ""  # inline values, applied after valueFiles
    valuesObject: Mapping[str, Any] | None = None  # wins over `values`, as in Argo CD
    parameters: tuple[HelmParameter, ...] = ()
    fileParameters: tuple[HelmFileParameter, ...] = ()
    skipCrds: bool = False
    skipTests: bool = False
    skipSchemaValidation: bool = False
    kubeVersion: str = ""
    apiVersions: tuple[str, ...] = ()


@dataclass(frozen=True)
class KustomizeReplica:
    name: str
    count: int


@dataclass(frozen=True)
class KustomizeSpec:
    namePrefix: str = ""
    nameSuffix: str = ""
    namespace: str = ""
    images: tuple[str, ...] = ()  # `[old=]new[:tag|@digest]`, as `kustomize edit set image`
    replicas: tuple[KustomizeReplica, ...] = ()
    commonLabels: Mapping[str, str] = field(default_factory=dict)
    commonAnnotations: Mapping[str, str] = field(default_factory=dict)
    forceCommonLabels: bool = False
    forceCommonAnnotations: bool = False
    labelWithoutSelector: bool = False
    labelIncludeTemplates: bool = False
    patches: tuple[Mapping[str, Any], ...] = ()
    components: tuple[str, ...] = ()  # relative to `path`, resolved inside the repository
    ignoreMissingComponents: bool = False

    @property
    def edits(self) -> bool:
        """True when the kustomization must be edited before the build."""
        return bool(
            self.namePrefix
            or self.nameSuffix
            or self.namespace
            or self.images
            or self.replicas
            or self.commonLabels
            or self.commonAnnotations
            or self.patches
            or self.components
        )


@dataclass(frozen=True)
class SourceSpec:
    """A Git URL (or a local directory) plus the path and options to render there."""

    repoURL: str
    path: str = ""
    targetRevision: str = ""  # a branch, tag, commit SHA or HEAD; empty means HEAD
    directory: DirectorySpec | None = None
    helm: HelmSpec | None = None
    kustomize: KustomizeSpec | None = None

    def explicit_type(self) -> SourceType | None:
        """The tool chosen by a section of the spec, or None to discover it from the files."""
        chosen = [
            kind
            for kind, section in (
                (SourceType.KUSTOMIZE, self.kustomize),
                (SourceType.HELM, self.helm),
                (SourceType.DIRECTORY, self.directory),
            )
            if section is not None
        ]
        if len(chosen) > 1:
            names = ",".join(chosen)
            raise SourceError(Reason.INVALID_SOURCE, f"multiple application sources defined: {names}")
        return chosen[0] if chosen else None

    @classmethod
    def from_dict(cls, source: Mapping[str, Any]) -> SourceSpec:
        """Build from an Application's ``spec.source`` (JSON as stored in the cluster)."""
        for unsupported in ("chart", "plugin"):
            if source.get(unsupported):
                raise SourceError(
                    Reason.INVALID_SOURCE, f"source.{unsupported} is not supported: use a Git repository path"
                )
        directory = source.get("directory")
        helm = source.get("helm")
        kustomize = source.get("kustomize")
        return cls(
            repoURL=_str(source, "repoURL"),
            path=_str(source, "path"),
            targetRevision=_str(source, "targetRevision"),
            directory=None if directory is None else _directory(directory),
            helm=None if helm is None else _helm(helm),
            kustomize=None if kustomize is None else _kustomize(kustomize),
        )


def _str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise SourceError(Reason.INVALID_SOURCE, f"source field {key}: expected a string, got {value!r}")
    return value


def _strings(data: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key) or ()
    if isinstance(value, str) or not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise SourceError(Reason.INVALID_SOURCE, f"source field {key}: expected a list of strings, got {value!r}")
    return tuple(value)


def _directory(data: Mapping[str, Any]) -> DirectorySpec:
    return DirectorySpec(
        recurse=bool(data.get("recurse")), include=_str(data, "include"), exclude=_str(data, "exclude")
    )


def _helm(data: Mapping[str, Any]) -> HelmSpec:
    values = data.get("values") or ""
    return HelmSpec(
        releaseName=_str(data, "releaseName"),
        namespace=_str(data, "namespace"),
        valueFiles=_strings(data, "valueFiles"),
        ignoreMissingValueFiles=bool(data.get("ignoreMissingValueFiles")),
        values=values,
        valuesObject=data.get("valuesObject"),
        parameters=tuple(
            HelmParameter(name=str(p["name"]), value=str(p.get("value", "")), forceString=bool(p.get("forceString")))
            for p in data.get("parameters") or ()
        ),
        fileParameters=tuple(
            HelmFileParameter(name=str(p["name"]), path=str(p["path"])) for p in data.get("fileParameters") or ()
        ),
        skipCrds=bool(data.get("skipCrds")),
        skipTests=bool(data.get("skipTests")),
        skipSchemaValidation=bool(data.get("skipSchemaValidation")),
        kubeVersion=_str(data, "kubeVersion"),
        apiVersions=_strings(data, "apiVersions"),
    )


def _kustomize(data: Mapping[str, Any]) -> KustomizeSpec:
    return KustomizeSpec(
        namePrefix=_str(data, "namePrefix"),
        nameSuffix=_str(data, "nameSuffix"),
        namespace=_str(data, "namespace"),
        images=_strings(data, "images"),
        replicas=tuple(
            KustomizeReplica(name=str(r["name"]), count=int(r["count"])) for r in data.get("replicas") or ()
        ),
        commonLabels=dict(data.get("commonLabels") or {}),
        commonAnnotations=dict(data.get("commonAnnotations") or {}),
        forceCommonLabels=bool(data.get("forceCommonLabels")),
        forceCommonAnnotations=bool(data.get("forceCommonAnnotations")),
        labelWithoutSelector=bool(data.get("labelWithoutSelector")),
        labelIncludeTemplates=bool(data.get("labelIncludeTemplates")),
        patches=tuple(data.get("patches") or ()),
        components=_strings(data, "components"),
        ignoreMissingComponents=bool(data.get("ignoreMissingComponents")),
    )
