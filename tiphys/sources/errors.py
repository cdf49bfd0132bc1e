"""The one error of ``tiphys.sources``: a machine ``reason`` and a message a user can act on.

::

    SourceError(reason, message)
      reason.bad_input  True: the source itself is wrong (URL, revision, path, manifest, chart…);
                        fix the repository or the Application and try again.
                        False: the environment failed (network, a missing binary); retrying may help.

Messages never carry credentials: URLs pass through :func:`mask_credentials` first.
"""

from __future__ import annotations

import re
from enum import StrEnum

__all__ = ["Reason", "SourceError", "mask_credentials"]


class Reason(StrEnum):
    INVALID_SOURCE = "InvalidSource"  # a URL, revision or option refused before anything ran
    REVISION_NOT_FOUND = "RevisionNotFound"  # no branch, tag or commit of that name
    GIT_FAILED = "GitFailed"  # git could not reach or read the repository
    PATH_OUTSIDE_ROOT = "PathOutsideRoot"  # a path, value file, component or symlink leaves the checkout
    PATH_NOT_FOUND = "PathNotFound"  # a path the source names does not exist
    INVALID_MANIFEST = "InvalidManifest"  # a document that is not a usable Kubernetes object
    DUPLICATE_OBJECT = "DuplicateObject"  # the same group/kind/namespace/name defined twice
    HELM_FAILED = "HelmFailed"  # `helm template` refused the chart or its values
    KUSTOMIZE_FAILED = "KustomizeFailed"  # `kustomize build` refused the kustomization
    TOOL_MISSING = "ToolMissing"  # git, helm or kubectl/kustomize is not installed

    @property
    def bad_input(self) -> bool:
        """True when the source is at fault (exit 2 in the CLI), False when the environment is."""
        return self not in (Reason.GIT_FAILED, Reason.TOOL_MISSING)


class SourceError(Exception):
    """Rendering a source failed; ``message`` says what to change."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"SourceError({self.reason.value!r}, {self.message!r})"


# `scheme://user:password@host` and `scheme://token@host`: everything between `//` and `@`.
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")


def mask_credentials(text: str) -> str:
    """Replace the user-info part of every URL in ``text`` with ``***``."""
    return _USERINFO.sub(r"\g<scheme>***@", text)
