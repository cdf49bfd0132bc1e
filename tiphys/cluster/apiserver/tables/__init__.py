"""Server-side printing: the ``meta.k8s.io/v1`` Table that ``kubectl get`` asks for.

One small cell function per kind, reproducing upstream's printers (``pkg/printers/internalversion``)
as the 1.31 API server runs them, that is always with ``Wide`` on: kubectl hides the priority-1
columns itself unless ``-o wide``. Custom resources get ``Name`` plus the CRD's
``additionalPrinterColumns`` (or ``Age``), kinds upstream prints with its default convertor get
``Name``/``Created At``, and anything else ``Name``/``Age``. Ages are upstream's ``HumanDuration``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from .. import errors
from ..resources import ResourceType
from ._cells import _pod_conditions
from ._columns import _DEFAULT, _PRINTERS, _column_definitions
from ._custom import _custom_printer
from ._format import Obj, _Clock, human_duration

__all__ = ["human_duration", "table"]


# --- the Table -------------------------------------------------------------------------------------


def table(
    rt: ResourceType,
    objects: list[dict[str, Any]],
    *,
    include_object: str = "Metadata",
    now: datetime,
    resource_version: str,
    continue_token: str = "",
    with_columns: bool = True,
) -> dict[str, Any]:
    """The ``meta.k8s.io/v1`` Table for ``objects``; a 400 StatusError for an unknown ``include_object``."""
    if include_object not in ("Metadata", "Object", "None", ""):
        supported = '"None", "Metadata", "Object"'
        message = f'includeObject: Unsupported value: "{include_object}": supported values: {supported}'
        raise errors.bad_request(message)
    conditions: Callable[[Obj], list[dict[str, str]] | None] | None = None
    if rt.crd is not None:
        columns, cells = _custom_printer(rt)
    else:
        specs, cells = _PRINTERS.get((rt.group, rt.kind), _DEFAULT)
        columns = _column_definitions(specs)
        conditions = _pod_conditions if (rt.group, rt.kind) == ("", "Pod") else None
    clock = _Clock(now)
    rows: list[dict[str, Any]] = []
    for obj in objects:
        row: dict[str, Any] = {"cells": cells(obj, clock)}
        if conditions is not None and (found := conditions(obj)):
            row["conditions"] = found
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj.get("metadata") or {},
            }
        rows.append(row)
    metadata = {"resourceVersion": resource_version}
    if continue_token:
        metadata["continue"] = continue_token
    result: dict[str, Any] = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata}
    if with_columns:
        result["columnDefinitions"] = columns
    result["rows"] = rows
    return result
