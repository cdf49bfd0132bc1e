"""What ``tiphys app`` writes, without I/O: Application manifests, spec changes, operation requests.

Every function here takes plain values and returns the dict (or patch) to send, or raises
``SpecError`` with a message for the user (exit code 2, nothing written). The shapes are Argo CD's:
``argocd app create``'s flags build the same ``spec``, an ``argoproj.io/v1alpha1`` manifest is
taken unchanged but for its apiVersion and namespace, and ``sync``/``rollback`` write the same
``operation`` field Argo CD's API server writes (``app_requests``).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from tiphys import sources
from tiphys.controller.application import API_VERSION, APP_NAMESPACE, DEFAULT_SERVER, KIND

__all__ = [
    "ARGO_API_VERSION",
    "CLI_USER",
    "IN_CLUSTER",
    "REFRESH_ANNOTATION",
    "RESOURCES_FINALIZER",
    "Refused",
    "SourceFlags",
    "SpecError",
    "application",
    "check_name",
    "from_manifests",
    "labels_of",
    "set_changes",
    "sync_options_of",
]

ARGO_API_VERSION: Final = "argoproj.io/v1alpha1"
IN_CLUSTER: Final = "in-cluster"
CLI_USER: Final = "tiphys-cli"
REFRESH_ANNOTATION: Final = "argocd.argoproj.io/refresh"
RESOURCES_FINALIZER: Final = "resources-finalizer.argocd.argoproj.io"
RESOURCES_FINALIZERS: Final = tuple(RESOURCES_FINALIZER + v for v in ("", "/foreground", "/background"))

_NAME: Final = re.compile(r"^[a-z0-9]([-a-z0-9]{0,251}[a-z0-9])?$")
_LABEL_KEY: Final = re.compile(
    r"^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
_LABEL_VALUE: Final = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_SERVER_FIELDS: Final = ("resourceVersion", "uid", "creationTimestamp", "generation", "managedFields", "selfLink")
_AUTOMATED: Final = {"automated", "auto", "automatic"}
_MANUAL: Final = {"none", "manual"}


class SpecError(ValueError):
    """A bad invocation or manifest (exit code 2); the message says what to fix."""


class Refused(ValueError):
    """The Application's state does not allow the request (exit code 1), e.g. a rollback with auto-sync on."""


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise SpecError(f"application name {name!r} is invalid: use lowercase letters, digits and '-' (DNS-1123)")
    return name


def _repo_url(repo: str) -> str:
    if not repo:
        raise SpecError("--repo is required")
    if repo.startswith("-"):
        raise SpecError(f"--repo {repo!r} starts with '-': refused, git would read it as an option")
    if sources.git.is_git_url(repo):
        return repo
    local = Path(repo).expanduser()
    if not local.is_dir():
        raise SpecError(f"--repo {repo!r} is neither a Git URL (https, ssh, git, file) nor a directory")
    return str(local.resolve())


def _destination(server: str | None, name: str | None, namespace: str) -> dict[str, Any]:
    if server and name:
        raise SpecError("--dest-server and --dest-name exclude each other: name the cluster one way")
    if not namespace:
        raise SpecError("--dest-namespace is required")
    if name:
        return {"name": name, "namespace": namespace}
    return {"server": server or DEFAULT_SERVER, "namespace": namespace}


def _policy(sync_policy: str | None, auto_prune: bool | None, self_heal: bool | None) -> bool | None:
    """True (automated), False (manual) or None (unchanged) for ``--sync-policy``."""
    if sync_policy is None:
        return None
    value = sync_policy.strip().lower()
    if value in _AUTOMATED:
        return True
    if value in _MANUAL:
        if auto_prune or self_heal:
            raise SpecError("--auto-prune and --self-heal need --sync-policy automated")
        return False
    raise SpecError(f"--sync-policy {sync_policy!r}: choose automated or none")


def sync_options_of(values: Iterable[str]) -> list[str]:
    for value in values:
        key, sep, setting = value.partition("=")
        if not sep or not key or not setting:
            raise SpecError(f"--sync-option {value!r} is not KEY=VALUE (e.g. CreateNamespace=true)")
    return list(values)


@dataclass(frozen=True)
class SourceFlags:
    """``--directory-recurse``, ``--values``, ``--helm-set``, ``--release-name``: the tool's section of the source."""

    directory_recurse: bool = False
    values: tuple[str, ...] = ()
    helm_set: tuple[str, ...] = ()
    release_name: str = ""

    def apply(self, source: dict[str, Any]) -> None:
        helm: dict[str, Any] = {}
        if self.values:
            helm["valueFiles"] = list(self.values)
        parameters = []
        for item in self.helm_set:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise SpecError(f"--helm-set {item!r} is not NAME=VALUE")
            parameters.append({"name": key, "value": value})
        if parameters:
            helm["parameters"] = parameters
        if self.release_name:
            helm["releaseName"] = self.release_name
        if helm and self.directory_recurse:
            raise SpecError(
                "--directory-recurse is for plain directories; --values, --helm-set and --release-name for Helm"
            )
        if helm:
            source["helm"] = helm
        if self.directory_recurse:
            source["directory"] = {"recurse": True}


def labels_of(items: Sequence[str]) -> dict[str, str]:
    """``--label key=value`` (repeatable) as metadata labels."""
    labels: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not _LABEL_KEY.match(key) or not _LABEL_VALUE.match(value):
            raise SpecError(f"--label {item!r} is not a valid KEY=VALUE label")
        labels[key] = value
    return labels


def application(
    name: str,
    *,
    repo: str,
    path: str,
    revision: str = "",
    dest_server: str | None = None,
    dest_name: str | None = None,
    dest_namespace: str = "",
    sync_policy: str | None = None,
    auto_prune: bool | None = None,
    self_heal: bool | None = None,
    sync_options: Sequence[str] = (),
    project: str = "default",
    source_flags: SourceFlags = SourceFlags(),
    labels: Sequence[str] = (),
) -> dict[str, Any]:
    """The Application ``tiphys app create NAME --repo … --path …`` creates (Argo CD's spec)."""
    check_name(name)
    url = _repo_url(repo)
    if revision.startswith("-"):
        raise SpecError(f"--revision {revision!r} starts with '-': refused")
    source: dict[str, Any] = {"repoURL": url, "path": path or "."}
    if revision or sources.git.is_git_url(url):
        source["targetRevision"] = revision or "HEAD"
    source_flags.apply(source)
    automated = _policy(sync_policy, auto_prune, self_heal)
    if not automated and (auto_prune or self_heal):
        raise SpecError("--auto-prune and --self-heal need --sync-policy automated")
    spec: dict[str, Any] = {
        "project": project,
        "source": source,
        "destination": _destination(dest_server, dest_name, dest_namespace),
    }
    policy: dict[str, Any] = {}
    if automated:
        # Argo CD's SyncPolicyAutomated omits false flags (omitempty).
        policy["automated"] = {key: True for key, on in (("prune", auto_prune), ("selfHeal", self_heal)) if on}
    if sync_options:
        policy["syncOptions"] = sync_options_of(sync_options)
    if policy:
        spec["syncPolicy"] = policy
    metadata: dict[str, Any] = {"name": name, "namespace": APP_NAMESPACE}
    if labels:
        metadata["labels"] = labels_of(labels)
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": metadata, "spec": spec}


def _converted(doc: Mapping[str, Any], where: str) -> dict[str, Any]:
    api_version, kind = doc.get("apiVersion"), doc.get("kind")
    if kind != KIND or api_version not in (API_VERSION, ARGO_API_VERSION):
        raise SpecError(f"{where}: {api_version}/{kind} is not an Application ({API_VERSION} or {ARGO_API_VERSION})")
    app = copy.deepcopy(dict(doc))
    app["apiVersion"] = API_VERSION
    metadata = app.get("metadata")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str):
        raise SpecError(f"{where}: metadata.name is missing")
    for server_field in _SERVER_FIELDS:
        metadata.pop(server_field, None)
    metadata["namespace"] = APP_NAMESPACE  # Argo CD keeps them in argocd; Tiphys in tiphys
    app.pop("status", None)  # another cluster's observations
    check_name(metadata["name"])
    spec = app.get("spec")
    if not isinstance(spec, dict):
        raise SpecError(f"{where}: spec is missing")
    source, many = spec.get("source"), spec.get("sources")
    if not (isinstance(source, dict) and source.get("repoURL")) and not (isinstance(many, list) and many):
        raise SpecError(f"{where}: spec.source.repoURL is missing")
    destination = spec.get("destination")
    if not isinstance(destination, dict) or not (destination.get("server") or destination.get("name")):
        raise SpecError(f"{where}: spec.destination needs a server or a name")
    if destination.get("server") and destination.get("name"):
        raise SpecError(f"{where}: spec.destination names both a server and a name: keep one")
    spec.setdefault("project", "default")
    return app


def from_manifests(text: str, where: str, *, name: str | None = None) -> list[dict[str, Any]]:
    """The Applications of a YAML/JSON file (``-f``), converted to ``tiphys.io/v1alpha1`` in ``tiphys``."""
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as e:
        raise SpecError(f"{where} is not valid YAML: {e}") from None
    if not docs:
        raise SpecError(f"{where} holds no Application")
    apps: list[dict[str, Any]] = []
    for index, doc in enumerate(docs):
        label = where if len(docs) == 1 else f"{where} (document {index + 1})"
        if not isinstance(doc, Mapping):
            raise SpecError(f"{label}: not an object")
        apps.append(_converted(doc, label))
    if name is not None:
        if len(apps) != 1:
            raise SpecError(f"NAME {name!r} given, but {where} holds {len(apps)} Applications")
        apps[0]["metadata"]["name"] = check_name(name)
    return apps


def set_changes(
    app: Mapping[str, Any],
    *,
    sync_policy: str | None = None,
    auto_prune: bool | None = None,
    self_heal: bool | None = None,
    repo: str | None = None,
    path: str | None = None,
    revision: str | None = None,
    dest_server: str | None = None,
    dest_name: str | None = None,
    dest_namespace: str | None = None,
    sync_options: Sequence[str] = (),
) -> dict[str, Any]:
    """The merge patch of ``tiphys app set``; raises ``SpecError`` when nothing (or something bad) is asked."""
    spec = app.get("spec") or {}
    patch: dict[str, Any] = {}
    source: dict[str, Any] = {}
    if repo is not None:
        source["repoURL"] = _repo_url(repo)
    if path is not None:
        source["path"] = path or "."
    if revision is not None:
        if revision.startswith("-"):
            raise SpecError(f"--revision {revision!r} starts with '-': refused")
        source["targetRevision"] = revision
    if source:
        patch["source"] = source
    if dest_server and dest_name:
        raise SpecError("--dest-server and --dest-name exclude each other: name the cluster one way")
    destination: dict[str, Any] = {}
    if dest_server:
        destination = {"server": dest_server, "name": None}
    elif dest_name:
        destination = {"name": dest_name, "server": None}
    if dest_namespace is not None:
        if not dest_namespace:
            raise SpecError("--dest-namespace cannot be empty")
        destination["namespace"] = dest_namespace
    if destination:
        patch["destination"] = destination
    policy = _policy_changes(spec.get("syncPolicy") or {}, sync_policy, auto_prune, self_heal, sync_options)
    if policy:
        patch["syncPolicy"] = policy
    if not patch:
        raise SpecError("nothing to set: name at least one option (see `tiphys app set --help`)")
    return {"spec": patch}


def _policy_changes(
    current: Mapping[str, Any],
    sync_policy: str | None,
    auto_prune: bool | None,
    self_heal: bool | None,
    sync_options: Sequence[str],
) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    automated = _policy(sync_policy, auto_prune, self_heal)
    is_automated = current.get("automated") is not None if automated is None else automated
    if automated is False:
        changes["automated"] = None
    elif auto_prune or self_heal or automated:
        if not is_automated:
            raise SpecError("--auto-prune and --self-heal need --sync-policy automated (the app syncs manually)")
        # Argo CD omits false flags (omitempty); in a merge patch, None removes one.
        flags = {"prune": auto_prune, "selfHeal": self_heal}
        changes["automated"] = {key: (True if on else None) for key, on in flags.items() if on is not None}
    elif is_automated and (auto_prune is False or self_heal is False):
        flags = {"prune": auto_prune, "selfHeal": self_heal}
        changes["automated"] = {key: None for key, on in flags.items() if on is False}
    if sync_options:
        merged = {o.partition("=")[0]: o for o in current.get("syncOptions") or []}
        merged.update({o.partition("=")[0]: o for o in sync_options_of(sync_options)})
        changes["syncOptions"] = list(merged.values())
    return changes
