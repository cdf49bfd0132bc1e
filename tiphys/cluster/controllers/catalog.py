"""Every built-in controller the embedded cluster runs, in start order."""

from __future__ import annotations

from ..apiserver.objects import ObjectAPI
from .base import Controller
from .crd_cleanup import CRDCleanup
from .cronjobs import CronJobController
from .daemonsets import DaemonSetController
from .deployments import DeploymentController
from .endpoints import EndpointsController
from .garbage import GarbageCollector
from .jobs import JobController
from .namespaces import NamespaceController
from .replicasets import ReplicaSetController
from .services import ServiceController
from .statefulsets import StatefulSetController
from .ttl import TTLAfterFinishedController
from .volumes import VolumeController

__all__ = ["builtin_controllers"]


def builtin_controllers(api: ObjectAPI) -> list[Controller]:
    return [
        GarbageCollector(api),
        NamespaceController(api),
        CRDCleanup(api),
        ServiceController(api),
        EndpointsController(api),
        VolumeController(api),
        DeploymentController(api),
        ReplicaSetController(api),
        StatefulSetController(api),
        DaemonSetController(api),
        JobController(api),
        TTLAfterFinishedController(api),
        CronJobController(api),
    ]
