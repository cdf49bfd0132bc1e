"""Outputs of steps and DAG templates (spec §3.2): ``valueFrom.parameter`` / ``valueFrom.expression``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import expr
from . import template as tpl
from .params import param_string

__all__ = ["template_outputs"]


def template_outputs(template: Mapping[str, Any], scope: tpl.Scope) -> dict[str, Any]:
    """The invocation's ``outputs`` from its children's variables; raises SubstitutionError."""
    declared = (template.get("outputs") or {}).get("parameters") or []
    params: list[dict[str, Any]] = []
    for param in declared:
        value_from = param.get("valueFrom") or {}
        entry = dict(param)
        try:
            if value_from.get("parameter") is not None:
                entry["value"] = tpl.substitute_text(str(value_from["parameter"]), scope, strict=True)
            elif value_from.get("expression") is not None:
                value = expr.evaluate(str(value_from["expression"]), tpl.expression_env(scope))
                entry["value"] = expr.format_value(value)
            elif param.get("value") is not None:
                entry["value"] = param_string(param["value"])
        except (tpl.SubstitutionError, expr.ExprError) as e:
            if value_from.get("default") is None:
                raise tpl.SubstitutionError(str(e)) from e
            entry["value"] = param_string(value_from["default"])
        params.append(entry)
    return {"parameters": params} if params else {}
