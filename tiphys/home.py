"""Where Tiphys keeps local state: ``$TIPHYS_HOME`` (default ``~/.tiphys``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Home", "home"]


@dataclass(frozen=True)
class Home:
    root: Path

    @property
    def kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    @property
    def cluster_dir(self) -> Path:
        """The embedded cluster's data: database, PKI, logs, pid and port files."""
        return self.root / "cluster"

    @property
    def database(self) -> Path:
        return self.cluster_dir / "state.db"

    @property
    def pki_dir(self) -> Path:
        return self.cluster_dir / "pki"

    @property
    def pid_file(self) -> Path:
        return self.cluster_dir / "apiserver.pid"

    @property
    def port_file(self) -> Path:
        return self.cluster_dir / "port"

    @property
    def server_log(self) -> Path:
        return self.cluster_dir / "apiserver.log"

    @property
    def pod_logs(self) -> Path:
        return self.cluster_dir / "pod-logs"

    @property
    def pods_dir(self) -> Path:
        return self.cluster_dir / "pods"

    def ensure(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.cluster_dir.mkdir(parents=True, exist_ok=True, mode=0o700)


def home() -> Home:
    raw = os.environ.get("TIPHYS_HOME") or str(Path("~/.tiphys").expanduser())
    return Home(Path(raw).expanduser().resolve())
