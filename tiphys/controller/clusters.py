"""Destination clusters: the home cluster, and the others registered as Argo CD cluster Secrets.

``https://kubernetes.default.svc`` (or the name ``in-cluster``) is the cluster the controller runs
in. Any other cluster is a Secret in namespace ``tiphys`` labelled
``argocd.argoproj.io/secret-type: cluster`` with data keys ``name``, ``server`` and ``config``
(``{"bearerToken", "tlsClientConfig": {"caData", "certData", "keyData", "insecure"}}``), the
format ``argocd cluster add`` writes. Each cluster gets one ``Kube`` client and one shared
``ClusterCache``, kept while its Secret is unchanged and replaced when the Secret changes.
Errors name the destination and never the credentials.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import lightkube

from tiphys.engine import ResourceKey
from tiphys.kube import Kube

from .application import APP_NAMESPACE, DEFAULT_SERVER
from .cache import ClusterCache
from .live import LiveCache

__all__ = [
    "IN_CLUSTER",
    "SECRET_TYPE_LABEL",
    "Cluster",
    "ClusterChange",
    "Clusters",
    "DestinationError",
    "cluster_config",
]

log = logging.getLogger(__name__)

IN_CLUSTER: Final = "in-cluster"
SECRET_TYPE_LABEL: Final = "argocd.argoproj.io/secret-type"


ClusterChange = Callable[[str, ResourceKey, dict[str, Any]], None]
"""Called with (server, key, object) for every watch event of a cluster's cache."""


class DestinationError(Exception):
    """The destination cannot be resolved (Argo CD's ``InvalidSpecError``); the message says why."""


@dataclass
class Cluster:
    name: str
    server: str
    kube: Kube
    cache: ClusterCache
    version: str = ""  # the Secret's resourceVersion ("" for the home cluster)


def _decode(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        return ""
    try:
        return base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ""


def cluster_config(name: str, server: str, config: Mapping[str, Any]) -> lightkube.KubeConfig:
    """A client configuration from a cluster Secret's ``config`` (Argo CD's ``ClusterConfig``)."""
    tls = config.get("tlsClientConfig") or {}
    if not isinstance(tls, Mapping):
        raise DestinationError(f"cluster {name!r}: config.tlsClientConfig is not an object")
    cluster: dict[str, Any] = {"server": server}
    if tls.get("caData"):
        cluster["certificate-authority-data"] = str(tls["caData"])
    if tls.get("insecure") is True:
        cluster["insecure-skip-tls-verify"] = True
    user: dict[str, Any] = {}
    if config.get("bearerToken"):
        user["token"] = str(config["bearerToken"])
    if config.get("username"):
        user["username"] = str(config["username"])
        user["password"] = str(config.get("password", ""))
    if tls.get("certData") and tls.get("keyData"):
        user["client-certificate-data"] = str(tls["certData"])
        user["client-key-data"] = str(tls["keyData"])
    raw = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": cluster}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "c",
    }
    try:
        return lightkube.KubeConfig.from_dict(raw)
    except (KeyError, TypeError, ValueError) as e:
        raise DestinationError(f"cluster {name!r}: its config is malformed ({type(e).__name__})") from None


class Clusters:
    """The clusters an Application may name, looked up by server URL or by name."""

    def __init__(self, home: Kube, *, on_change: ClusterChange | None = None) -> None:
        self._on_change = on_change
        self.home = Cluster(IN_CLUSTER, DEFAULT_SERVER, home, self._cache(home, DEFAULT_SERVER))
        self._remote: dict[str, Cluster] = {}  # by server URL
        self._secrets = LiveCache(home)  # the Secrets of namespace tiphys, watched

    def _cache(self, kube: Kube, server: str) -> ClusterCache:
        on_change = self._on_change
        if on_change is None:
            return ClusterCache(kube)
        return ClusterCache(kube, on_change=lambda key, obj: on_change(server, key, obj))

    async def start(self) -> None:
        await self._secrets.ensure([("v1", "Secret", APP_NAMESPACE)])

    def _cluster_secrets(self) -> list[dict[str, Any]]:
        return [
            obj
            for obj in self._secrets.snapshot()
            if (obj.get("metadata") or {}).get("namespace") == APP_NAMESPACE
            and ((obj.get("metadata") or {}).get("labels") or {}).get(SECRET_TYPE_LABEL) == "cluster"
        ]

    def _find_secret(self, *, server: str = "", name: str = "") -> dict[str, Any] | None:
        for secret in self._cluster_secrets():
            data = secret.get("data") or {}
            if (server and _decode(data, "server").rstrip("/") == server.rstrip("/")) or (
                name and _decode(data, "name") == name
            ):
                return secret
        return None

    def server_of(self, destination: Mapping[str, Any]) -> str:
        """The server URL a destination means (raises ``DestinationError`` when none)."""
        server = str(destination.get("server") or "")
        name = str(destination.get("name") or "")
        if server and name:
            raise DestinationError("application destination can't have both name and server defined")
        if server:
            return server
        if not name:
            raise DestinationError("Destination server missing from app spec")
        if name == IN_CLUSTER and self._find_secret(name=name) is None:
            return DEFAULT_SERVER
        secret = self._find_secret(name=name)
        if secret is None:
            raise DestinationError(f"unable to find destination server: there are no clusters with this name: {name}")
        return _decode(secret.get("data") or {}, "server")

    async def resolve(self, destination: Mapping[str, Any]) -> Cluster:
        server = self.server_of(destination)
        if server.rstrip("/") == DEFAULT_SERVER:
            return self.home
        secret = self._find_secret(server=server)
        if secret is None:
            raise DestinationError(f"cluster '{server}' has not been configured")
        version = str((secret.get("metadata") or {}).get("resourceVersion", ""))
        current = self._remote.get(server)
        if current is not None and current.version == version:
            return current
        data = secret.get("data") or {}
        name = _decode(data, "name") or server
        try:
            config = json.loads(_decode(data, "config") or "{}")
        except json.JSONDecodeError:
            raise DestinationError(f"cluster {name!r}: its config is not JSON") from None
        if not isinstance(config, Mapping):
            raise DestinationError(f"cluster {name!r}: its config is not a JSON object")
        kube = Kube(cluster_config(name, server, config))
        cluster = Cluster(name, server, kube, self._cache(kube, server), version)
        self._remote[server] = cluster
        if current is not None:
            await current.cache.close()
            await current.kube.close()
        log.info("cluster %s (%s) connected", name, server)
        return cluster

    def all(self) -> list[Cluster]:
        return [self.home, *self._remote.values()]

    async def close(self) -> None:
        await self._secrets.close()
        for cluster in self._remote.values():
            await cluster.cache.close()
            await cluster.kube.close()
        await self.home.cache.close()
