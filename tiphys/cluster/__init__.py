"""The embedded cluster: a Kubernetes-compatible API server, its controllers and a sandboxed kubelet.

Only the cluster's own entry points (``tiphys up``, tests) import this package; everything else
reaches it over HTTP like any other cluster.
"""
