"""Which cluster Tiphys talks to: a kubeconfig file and, optionally, one of its contexts.

The default target is the embedded cluster's kubeconfig, ``$TIPHYS_HOME/kubeconfig``. A real
cluster has to be named (``--kubeconfig``/``--context``): ``$KUBECONFIG`` and ``~/.kube/config``
are never read implicitly, so a forgotten environment variable cannot point a sync at production.
"""

from __future__ import annotations

import os
from pathlib import Path

import lightkube
import yaml

from tiphys.home import home

from .errors import KubeConfigError

__all__ = ["default_kubeconfig", "load_config"]


def default_kubeconfig() -> Path:
    """The embedded cluster's kubeconfig, ``$TIPHYS_HOME/kubeconfig``."""
    return home().kubeconfig


def load_config(
    kubeconfig: str | os.PathLike[str] | None = None, *, context: str | None = None
) -> lightkube.KubeConfig:
    """Load a kubeconfig (default: the embedded cluster's), with ``context`` made the current one."""
    embedded = kubeconfig is None
    path = default_kubeconfig() if kubeconfig is None else Path(kubeconfig).expanduser()
    if not path.is_file():
        if embedded:
            raise KubeConfigError(
                f"no kubeconfig at {path}: start the embedded cluster with `tiphys up`, "
                "or name a cluster with --kubeconfig"
            )
        raise KubeConfigError(f"kubeconfig {path} not found")
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise KubeConfigError(f"kubeconfig {path} could not be read: {e}") from e
    if not isinstance(raw, dict) or not raw.get("clusters") or not raw.get("contexts"):
        raise KubeConfigError(f"kubeconfig {path} has no clusters or no contexts")
    try:
        config = lightkube.KubeConfig.from_dict(raw, fname=path)
    except (KeyError, TypeError, ValueError) as e:
        raise KubeConfigError(f"kubeconfig {path} is malformed: {e}") from e

    chosen = context or config.current_context
    if chosen is None:
        raise KubeConfigError(f"kubeconfig {path} has no current-context: name one with --context")
    if chosen not in config.contexts:
        known = ", ".join(sorted(config.contexts)) or "none"
        raise KubeConfigError(f"context {chosen!r} not found in kubeconfig {path} (contexts: {known})")
    selected = config.contexts[chosen]
    if selected.cluster not in config.clusters:
        raise KubeConfigError(f"context {chosen!r} in kubeconfig {path} names unknown cluster {selected.cluster!r}")
    if selected.user is None or selected.user not in config.users:
        raise KubeConfigError(f"context {chosen!r} in kubeconfig {path} names no known user")
    config.current_context = chosen
    return config
