"""The embedded kubelet: runs the Pods bound to node ``tiphys-local`` as sandboxed local processes."""
