"""The error tree of ``tiphys.kube``: which class a ``Status`` becomes, and that nothing foreign leaks."""

from __future__ import annotations

import httpx
import httpx2
import lightkube
import pytest

from tiphys.kube import (
    AlreadyExists,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    KubeApiError,
    KubeError,
    NotFound,
    Status,
    Unauthorized,
    UnknownKind,
)
from tiphys.kube.errors import api_error


def test_kube_errors_are_not_httpx_or_lightkube_errors():
    for foreign in (httpx.HTTPError, httpx2.HTTPError, lightkube.ApiError):
        assert not issubclass(KubeApiError, foreign)
        assert not issubclass(KubeError, foreign)


@pytest.mark.parametrize(
    "code, reason, expected",
    [
        pytest.param(401, "Unauthorized", Unauthorized, id="401"),
        pytest.param(403, "Forbidden", Forbidden, id="403"),
        pytest.param(404, "NotFound", NotFound, id="404"),
        pytest.param(409, "AlreadyExists", AlreadyExists, id="409-already-exists"),
        pytest.param(409, "Conflict", Conflict, id="409-conflict"),
        pytest.param(409, "", Conflict, id="409-without-reason"),
        pytest.param(410, "Expired", Gone, id="410-expired"),
        pytest.param(410, "Gone", Gone, id="410-gone"),
        pytest.param(422, "Invalid", Invalid, id="422"),
        pytest.param(415, "UnsupportedMediaType", KubeApiError, id="other-codes-are-the-base-class"),
        pytest.param(500, "InternalError", KubeApiError, id="500"),
    ],
)
def test_a_status_becomes_the_most_specific_error(code, reason, expected):
    error = api_error(Status(code=code, reason=reason, message="m"))
    assert type(error) is expected
    assert error.status.code == code
    assert str(error) == "m"


def test_a_status_body_without_reason_or_message_gets_them_from_the_code():
    status = Status.from_body({"kind": "Status"}, code=404)
    assert (status.code, status.reason, status.message) == (404, "NotFound", "the server answered 404 Not Found")


def test_unknown_kind_is_a_not_found():
    assert issubclass(UnknownKind, NotFound)
    assert not issubclass(AlreadyExists, Conflict)
