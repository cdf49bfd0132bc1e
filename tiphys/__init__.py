"""Tiphys: GitOps continuous delivery for Kubernetes with Argo CD's sync-hook lifecycle."""

__version__ = "0.1.0"
