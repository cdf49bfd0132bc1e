"""The kubeconfig that points kubectl and Tiphys at the embedded cluster."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import yaml

from .pki import Credentials

__all__ = ["CONTEXT", "write_kubeconfig"]

CONTEXT = "tiphys"


def render(server: str, credentials: Credentials) -> str:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": CONTEXT,
                "cluster": {
                    "server": server,
                    "certificate-authority-data": base64.b64encode(credentials.ca_pem).decode(),
                },
            }
        ],
        "users": [{"name": "tiphys-admin", "user": {"token": credentials.admin_token}}],
        "contexts": [
            {"name": CONTEXT, "context": {"cluster": CONTEXT, "user": "tiphys-admin", "namespace": "default"}}
        ],
        "current-context": CONTEXT,
        "preferences": {},
    }
    return yaml.safe_dump(config, sort_keys=False)


def write_kubeconfig(path: Path, server: str, credentials: Credentials) -> None:
    """Write atomically with mode 0600: the file holds the admin token."""
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(render(server, credentials))
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
