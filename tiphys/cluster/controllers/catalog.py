"""Every built-in controller the embedded cluster runs, in start order."""

from __future__ import annotations

from ..apiserver.objects import ObjectAPI
from .base import Controller
from .crd_cleanup import CRDCleanup
from .garbage import GarbageCollector
from .namespaces import NamespaceController

__all__ = ["builtin_controllers"]


def builtin_controllers(api: ObjectAPI) -> list[Controller]:
    return [
        GarbageCollector(api),
        NamespaceController(api),
        CRDCleanup(api),
    ]
