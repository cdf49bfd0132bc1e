"""What can go wrong between Tiphys and a Kubernetes API, as one small tree of exceptions.

::

    KubeError
     ├── KubeConfigError       the kubeconfig cannot be used (missing file, unknown context)
     ├── KubeConnectionError   no usable answer: connect, TLS, timeout, a body that is not JSON
     └── KubeApiError          the server answered with a failure ``Status`` (``.status``)
          ├── Unauthorized     401
          ├── Forbidden        403
          ├── NotFound         404
          │    └── UnknownKind     discovery knows no such kind (install the CRD first)
          ├── Conflict         409, a stale resourceVersion or a server-side apply conflict
          ├── AlreadyExists    409 with reason AlreadyExists
          ├── Gone             410, the watch's resourceVersion is too old: list again
          └── Invalid          422, the object breaks validation; the message says where

lightkube and httpx2 errors are translated here, at the edge, and chained with ``from`` so the
cause stays visible in tracebacks; nothing above ``tiphys.kube`` sees them. Bodies that are not a
``Status`` are dropped, not quoted: a misbehaving proxy could echo a request carrying a Secret.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import httpx2
import lightkube
import msgspec

__all__ = [
    "AlreadyExists",
    "Conflict",
    "Forbidden",
    "Gone",
    "Invalid",
    "KubeApiError",
    "KubeConfigError",
    "KubeConnectionError",
    "KubeError",
    "NotFound",
    "Status",
    "Unauthorized",
    "UnknownKind",
]


@dataclass(frozen=True)
class Status:
    """The parts of a Kubernetes ``Status`` body that callers act on."""

    code: int
    reason: str
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_body(cls, body: Mapping[str, Any], *, code: int) -> Status:
        return cls(
            code=int(body.get("code") or code),
            reason=str(body.get("reason") or _default_reason(code)),
            message=str(body.get("message") or _default_message(code)),
            details=dict(body.get("details") or {}),
        )

    @classmethod
    def from_code(cls, code: int) -> Status:
        return cls(code=code, reason=_default_reason(code), message=_default_message(code))


class KubeError(Exception):
    """Base of every error raised by ``tiphys.kube``."""


class KubeConfigError(KubeError):
    """The kubeconfig is missing, unreadable, or names a context it does not hold."""


class KubeConnectionError(KubeError):
    """The API server gave no usable answer: retry later or check the server address."""


class KubeApiError(KubeError):
    """The API server refused the request; ``.status`` holds its ``Status``."""

    def __init__(self, status: Status) -> None:
        super().__init__(status.message)
        self.status = status

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.status.code}, reason={self.status.reason!r}, {self.status.message!r})"


class Unauthorized(KubeApiError):
    """The credentials were not accepted (401)."""


class Forbidden(KubeApiError):
    """The caller may not do this (403)."""


class NotFound(KubeApiError):
    """The object, its namespace or its kind does not exist (404)."""


class UnknownKind(NotFound):
    """No resource of this apiVersion and kind is served; install its CRD first."""


class Conflict(KubeApiError):
    """The write lost a race (stale resourceVersion) or fields belong to another manager (409)."""


class AlreadyExists(KubeApiError):
    """An object with this name already exists (409, reason AlreadyExists)."""


class Gone(KubeApiError):
    """The requested resourceVersion is too old (410): list again and watch from there."""


class Invalid(KubeApiError):
    """The object failed validation (422); the message names the field."""


_BY_REASON: dict[str, type[KubeApiError]] = {
    "AlreadyExists": AlreadyExists,
    "Conflict": Conflict,
    "Invalid": Invalid,
    "NotFound": NotFound,
    "Forbidden": Forbidden,
    "Unauthorized": Unauthorized,
    "Gone": Gone,
    "Expired": Gone,
}

_BY_CODE: dict[int, type[KubeApiError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    422: Invalid,
}


def api_error(status: Status) -> KubeApiError:
    """The most specific error for a ``Status``: its reason first, then its code."""
    cls = _BY_REASON.get(status.reason) or _BY_CODE.get(status.code, KubeApiError)
    return cls(status)


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """Turn lightkube and httpx2 errors raised inside the block into ``KubeError``s."""
    try:
        yield
    except lightkube.ApiError as e:
        # Raised for a JSON error response, or for an ERROR event inside a watch stream.
        body = e.status.to_dict() if e.status is not None else {}
        raise api_error(Status.from_body(body, code=int(body.get("code") or 500))) from e
    except httpx2.HTTPStatusError as e:
        raise api_error(status_of(e.response)) from e
    except (httpx2.HTTPError, httpx2.StreamError) as e:
        raise KubeConnectionError(f"{type(e).__name__}: {e}") from e
    except msgspec.MsgspecError as e:
        raise KubeConnectionError(f"the API server sent a body that could not be decoded: {e}") from e
    except lightkube.ConfigError as e:
        raise KubeConfigError(str(e)) from e


def status_of(response: httpx2.Response) -> Status:
    """The ``Status`` of an error response; only the code when the body is not a readable Status."""
    code = response.status_code
    try:
        body = response.json()
    except (httpx2.ResponseNotRead, httpx2.StreamError, ValueError):
        return Status.from_code(code)
    if isinstance(body, dict) and body.get("kind") == "Status":
        return Status.from_body(body, code=code)
    return Status.from_code(code)


def _default_reason(code: int) -> str:
    reasons = {401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict", 410: "Expired", 422: "Invalid"}
    if code in reasons:
        return reasons[code]
    return "InternalError" if code >= 500 else "BadRequest"


def _default_message(code: int) -> str:
    try:
        phrase = HTTPStatus(code).phrase
    except ValueError:
        phrase = "unexpected status"
    return f"the server answered {code} {phrase}"
