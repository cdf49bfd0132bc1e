"""The embedded kubelet: runs the Pods bound to node ``tiphys-local`` as sandboxed local processes."""

from .context import NODE_NAME
from .kubelet import Kubelet

__all__ = ["NODE_NAME", "Kubelet"]
