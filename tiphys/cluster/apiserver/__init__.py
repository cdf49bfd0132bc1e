"""A Kubernetes-compatible HTTP API server backed by SQLite, in the spirit of k3s's kine."""
