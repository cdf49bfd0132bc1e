"""The one place that builds Kubernetes ``Status`` failures.

Every failure inside the API server is a :class:`StatusError`; one handler renders it as the
``kind: Status`` body that kubectl and the client libraries parse.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "StatusError",
    "already_exists",
    "bad_request",
    "conflict",
    "expired",
    "forbidden",
    "gone",
    "invalid",
    "method_not_allowed",
    "not_found",
    "path_not_found",
    "status_body",
    "too_large",
    "unauthorized",
    "unsupported_media_type",
]


class StatusError(Exception):
    """An API failure with the HTTP code, the machine ``reason`` and a message a user can act on."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return status_body(self.code, self.reason, self.message, self.details)

    def __repr__(self) -> str:
        return f"StatusError({self.code}, {self.reason!r}, {self.message!r})"


def status_body(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
    }
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


def _details(name: str, group: str, kind: str) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name}
    if group:
        details["group"] = group
    details["kind"] = kind
    return details


def qualified(plural: str, group: str) -> str:
    """``configmaps`` for the core group, ``jobs.batch`` otherwise: upstream's resource naming."""
    return f"{plural}.{group}" if group else plural


def not_found(plural: str, group: str, name: str) -> StatusError:
    return StatusError(
        404, "NotFound", f'{qualified(plural, group)} "{name}" not found', details=_details(name, group, plural)
    )


def path_not_found() -> StatusError:
    return StatusError(404, "NotFound", "the server could not find the requested resource", details={})


def already_exists(plural: str, group: str, name: str, *, generated: bool = False) -> StatusError:
    message = f'{qualified(plural, group)} "{name}" already exists'
    if generated:
        message += ", the server was not able to generate a unique name for the object"
    return StatusError(409, "AlreadyExists", message, details=_details(name, group, plural))


def conflict(plural: str, group: str, name: str, why: str | None = None) -> StatusError:
    why = why or "the object has been modified; please apply your changes to the latest version and try again"
    return StatusError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {qualified(plural, group)} "{name}": {why}',
        details=_details(name, group, plural),
    )


def invalid(kind: str, group: str, name: str, causes: list[dict[str, str]]) -> StatusError:
    """422 with upstream's ``Kind.group "name" is invalid: field: Type: detail, ...`` message."""
    qualified_kind = f"{kind}.{group}" if group else kind
    parts = [f"{c['field']}: {c['message']}" if c.get("field") else c["message"] for c in causes]
    if len(parts) == 1:
        summary = parts[0]
    else:
        summary = "[" + ", ".join(parts) + "]"
    details = _details(name, group, kind)
    details["causes"] = causes
    return StatusError(422, "Invalid", f'{qualified_kind} "{name}" is invalid: {summary}', details=details)


def bad_request(message: str) -> StatusError:
    return StatusError(400, "BadRequest", message)


def forbidden(message: str, *, details: dict[str, Any] | None = None) -> StatusError:
    return StatusError(403, "Forbidden", message, details=details)


def unauthorized() -> StatusError:
    return StatusError(401, "Unauthorized", "Unauthorized")


def method_not_allowed(verb: str, plural: str, group: str) -> StatusError:
    return StatusError(
        405,
        "MethodNotAllowed",
        f'{verb} is not supported on resources of kind "{qualified(plural, group)}"',
        details={},
    )


def expired(message: str) -> StatusError:
    return StatusError(410, "Expired", message)


def gone(message: str) -> StatusError:
    return StatusError(410, "Gone", message)


def unsupported_media_type(content_type: str, accepted: list[str]) -> StatusError:
    return StatusError(
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: " + ", ".join(accepted),
    )


def too_large(limit: int) -> StatusError:
    return StatusError(413, "RequestEntityTooLarge", f"Request entity too large: limit is {limit}")
