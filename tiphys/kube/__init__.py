"""The one road to every cluster: kubeconfig, discovery, and generic CRUD, watch and apply on dicts.

Everything that talks to Kubernetes (the engine, the controller, the workflow controller) goes
through here, over HTTP; the embedded cluster is reached like any other, by its kubeconfig.
"""

from .client import DEFAULT_FIELD_MANAGER, EventType, Kube, ObjectList, PatchType, Propagation, WatchEvent
from .config import default_kubeconfig, load_config
from .discovery import Discovery, ResourceInfo
from .errors import (
    AlreadyExists,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    KubeApiError,
    KubeConfigError,
    KubeConnectionError,
    KubeError,
    NotFound,
    Status,
    Unauthorized,
    UnknownKind,
)

__all__ = [
    "DEFAULT_FIELD_MANAGER",
    "AlreadyExists",
    "Conflict",
    "Discovery",
    "EventType",
    "Forbidden",
    "Gone",
    "Invalid",
    "Kube",
    "KubeApiError",
    "KubeConfigError",
    "KubeConnectionError",
    "KubeError",
    "NotFound",
    "ObjectList",
    "PatchType",
    "Propagation",
    "ResourceInfo",
    "Status",
    "Unauthorized",
    "UnknownKind",
    "WatchEvent",
    "default_kubeconfig",
    "load_config",
]

# Reprs and tracebacks show the public path, tiphys.kube.NotFound, not the defining module.
for _name in __all__:
    _member = globals()[_name]
    if isinstance(_member, type) or callable(_member):
        _member.__module__ = __name__
del _name, _member
