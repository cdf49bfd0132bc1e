"""Operators and functions of the expression language (expr-lang built-ins, Argo's and Sprig's extras)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["CLOSURE_FUNCS", "FUNCS", "SPRIG", "binary", "jsonpath", "run_closure", "to_json", "type_name"]



def _error(message: str) -> Exception:
    from .expr import ExprError  # the public error type lives with the parser

    return ExprError(message)


def type_name(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "map[string]interface {}"
    if isinstance(value, Sequence):
        return "[]interface {}"
    return type(value).__name__


def _go_float(value: float) -> str:
    if math.isfinite(value) and value == int(value) and abs(value) < 1e21:
        return str(int(value))
    return repr(value)


def to_json(value: Any) -> str:
    """Compact JSON the way Go's encoder writes it (integral floats without a decimal point)."""
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k))}:{to_json(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(to_json(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _equal(a: Any, b: Any) -> bool:
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def _arith(op: str, a: Any, b: Any) -> Any:
    if op == "+" and isinstance(a, str) and isinstance(b, str):
        return a + b
    if op == "+" and isinstance(a, list) and isinstance(b, list):
        return a + b
    if not (_is_number(a) and _is_number(b)):
        raise _error(f"invalid operation: {type_name(a)} {op} {type_name(b)}")
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        if b == 0:
            return math.inf if a > 0 else -math.inf if a < 0 else math.nan
        return a / b
    if op == "%":
        if not (isinstance(a, int) and isinstance(b, int)):
            raise _error(f"invalid operation: {type_name(a)} % {type_name(b)}")
        if b == 0:
            raise _error("integer divide by zero")
        return int(math.fmod(a, b))
    return float(a) ** b if isinstance(a, float) or isinstance(b, float) or b < 0 else float(a**b)


def _compare(op: str, a: Any, b: Any) -> bool:
    if not ((_is_number(a) and _is_number(b)) or (isinstance(a, str) and isinstance(b, str))):
        raise _error(f"invalid operation: {type_name(a)} {op} {type_name(b)}")
    if op == "<":
        return bool(a < b)
    if op == ">":
        return bool(a > b)
    if op == "<=":
        return bool(a <= b)
    return bool(a >= b)


def _in(a: Any, b: Any) -> bool:
    if isinstance(b, Mapping):
        return a in b
    if isinstance(b, (list, tuple)):
        return any(_equal(a, x) for x in b)
    if b is None:
        return False
    raise _error(f"invalid operation: {type_name(a)} in {type_name(b)}")


def binary(op: str, a: Any, b: Any) -> Any:
    if op == "==":
        return _equal(a, b)
    if op == "!=":
        return not _equal(a, b)
    if op in ("<", ">", "<=", ">="):
        return _compare(op, a, b)
    if op in ("+", "-", "*", "/", "%", "**", "^"):
        return _arith(op, a, b)
    if op == "in":
        return _in(a, b)
    if op == "not in":
        return not _in(a, b)
    if op == "..":
        if not (isinstance(a, int) and isinstance(b, int)):
            raise _error(f"invalid operation: {type_name(a)} .. {type_name(b)}")
        return list(range(a, b + 1))
    if not (isinstance(a, str) and isinstance(b, str)):
        raise _error(f"invalid operation: {type_name(a)} {op} {type_name(b)}")
    if op == "matches":
        try:
            return re.search(b, a) is not None
        except re.error as e:
            raise _error(f"error parsing regexp: {e}") from e
    if op == "contains":
        return b in a
    if op == "startsWith":
        return a.startswith(b)
    if op == "endsWith":
        return a.endswith(b)
    raise _error(f"unknown operator {op}")


def _as_int(value: Any) -> int:
    if isinstance(value, bool):
        raise _error("invalid argument for int (type bool)")
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            try:
                return int(float(value.strip()))
            except ValueError:
                raise _error(f'strconv.Atoi: parsing "{value}": invalid syntax') from None
    raise _error(f"invalid argument for int (type {type_name(value)})")


def _as_float(value: Any) -> float:
    if isinstance(value, bool):
        raise _error("invalid argument for float (type bool)")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            raise _error(f'strconv.ParseFloat: parsing "{value}": invalid syntax') from None
    raise _error(f"invalid argument for float (type {type_name(value)})")


def _string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "<nil>"
    return to_json(value)


def _len(value: Any) -> int:
    if isinstance(value, (str, list, tuple, Mapping)):
        return len(value)
    raise _error(f"invalid argument for len (type {type_name(value)})")


def _from_json(text: Any) -> Any:
    if not isinstance(text, str):
        raise _error(f"invalid argument for fromJSON (type {type_name(text)})")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise _error(f"fromJSON: {e}") from e


_PATH_STEP = re.compile(r"\.([A-Za-z0-9_\-]+)|\[(\d+|\*|'[^']*'|\"[^\"]*\")\]")


def jsonpath(document: Any, path: str) -> Any:
    """``jsonpath(json, "$.a.b[0]")``: dotted keys, ``[n]``, ``['k']`` and ``[*]`` over a JSON text or value."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError as e:
            raise _error(f"jsonpath: invalid JSON: {e}") from e
    if not path.startswith("$"):
        raise _error(f"jsonpath: path must start with $: {path}")
    values: list[Any] = [document]
    spread = False
    pos = 1
    while pos < len(path):
        m = _PATH_STEP.match(path, pos)
        if m is None:
            raise _error(f"jsonpath: cannot parse {path[pos:]!r}")
        pos = m.end()
        key, bracket = m.group(1), m.group(2)
        nxt: list[Any] = []
        for v in values:
            if key is not None or (bracket and bracket[0] in "'\""):
                k = key if key is not None else bracket[1:-1]
                if isinstance(v, Mapping) and k in v:
                    nxt.append(v[k])
                elif not spread:
                    raise _error(f"jsonpath: key error: {k} not found in object")
            elif bracket == "*":
                spread = True
                nxt.extend(v.values() if isinstance(v, Mapping) else v)
            else:
                i = int(bracket)
                if isinstance(v, list) and i < len(v):
                    nxt.append(v[i])
                elif not spread:
                    raise _error(f"jsonpath: index out of range: len: {len(v) if isinstance(v, list) else 0}, idx: {i}")
        values = nxt
    return values if spread else values[0]


def _join(items: Any, sep: str = "") -> str:
    return sep.join(_string(x) for x in items)


FUNCS: dict[str, Callable[..., Any]] = {
    "len": _len,
    "int": _as_int,
    "asInt": _as_int,
    "float": _as_float,
    "asFloat": _as_float,
    "string": _string,
    "toJson": to_json,
    "toJSON": to_json,
    "fromJSON": _from_json,
    "fromJson": _from_json,
    "jsonpath": jsonpath,
    "keys": lambda m: sorted(m),
    "values": lambda m: [m[k] for k in sorted(m)],
    "upper": lambda s: s.upper(),
    "lower": lambda s: s.lower(),
    "trim": lambda s, chars=None: s.strip(chars),
    "trimPrefix": lambda s, p: s[len(p) :] if s.startswith(p) else s,
    "trimSuffix": lambda s, p: s[: -len(p)] if p and s.endswith(p) else s,
    "split": lambda s, sep: s.split(sep),
    "join": _join,
    "abs": abs,
    "max": lambda *a: max(a[0] if len(a) == 1 else a),
    "min": lambda *a: min(a[0] if len(a) == 1 else a),
    "first": lambda a: a[0] if a else None,
    "last": lambda a: a[-1] if a else None,
    "hasPrefix": lambda s, p: s.startswith(p),
    "hasSuffix": lambda s, p: s.endswith(p),
    "indexOf": lambda s, sub: s.find(sub),
    "repeat": lambda s, n: s * n,
}

SPRIG: dict[str, Callable[..., Any]] = {
    "trim": lambda s: s.strip(),
    "upper": lambda s: s.upper(),
    "lower": lambda s: s.lower(),
    "title": lambda s: s.title(),
    "replace": lambda old, new, s: s.replace(old, new),
    "contains": lambda sub, s: sub in s,
    "hasPrefix": lambda p, s: s.startswith(p),
    "hasSuffix": lambda p, s: s.endswith(p),
    "trimPrefix": lambda p, s: s[len(p) :] if s.startswith(p) else s,
    "trimSuffix": lambda p, s: s[: -len(p)] if p and s.endswith(p) else s,
    "trimAll": lambda c, s: s.strip(c),
    "repeat": lambda n, s: s * n,
    "substr": lambda start, end, s: s[start:end] if end >= 0 else s[start:],
    "trunc": lambda n, s: s[:n] if n >= 0 else s[n:],
    "quote": lambda s: json.dumps(_string(s)),
    "squote": lambda s: f"'{_string(s)}'",
    "cat": lambda *a: " ".join(_string(x) for x in a if x is not None),
    "split": lambda sep, s: {f"_{i}": p for i, p in enumerate(s.split(sep))},
    "splitList": lambda sep, s: s.split(sep),
    "join": lambda sep, items: _join(items, sep),
    "toString": _string,
    "atoi": lambda s: _as_int(s),
    "int": _as_int,
    "int64": _as_int,
    "float64": _as_float,
    "toJson": to_json,
    "fromJson": _from_json,
    "default": lambda d, v=None: d if v in (None, "", [], {}, 0, False) else v,
    "empty": lambda v: v in (None, "", [], {}, 0, False),
    "coalesce": lambda *a: next((x for x in a if x not in (None, "", [], {}, 0, False)), None),
    "ternary": lambda yes, no, cond: yes if cond else no,
    "list": lambda *a: list(a),
    "first": lambda a: a[0] if a else None,
    "last": lambda a: a[-1] if a else None,
    "has": lambda x, a: x in a,
    "add": lambda *a: sum(_as_int(x) for x in a),
    "add1": lambda a: _as_int(a) + 1,
    "sub": lambda a, b: _as_int(a) - _as_int(b),
    "mul": lambda *a: math.prod(_as_int(x) for x in a),
    "div": lambda a, b: _as_int(a) // _as_int(b),
    "mod": lambda a, b: _as_int(a) % _as_int(b),
    "max": lambda *a: max(_as_int(x) for x in a),
    "min": lambda *a: min(_as_int(x) for x in a),
    "regexMatch": lambda r, s: re.search(r, s) is not None,
    "regexFind": lambda r, s: (m.group(0) if (m := re.search(r, s)) else ""),
    "regexReplaceAll": lambda r, s, repl: re.sub(r, repl.replace("$", "\\"), s),
    "b64enc": lambda s: __import__("base64").b64encode(s.encode()).decode(),
    "b64dec": lambda s: __import__("base64").b64decode(s.encode()).decode(),
    "nospace": lambda s: re.sub(r"\s", "", s),
    "indent": lambda n, s: "\n".join(" " * n + line for line in s.split("\n")),
}

CLOSURE_FUNCS = frozenset({"filter", "map", "all", "any", "none", "one", "count"})


def run_closure(name: str, subject: Any, body: Callable[[Any], Any]) -> Any:
    if not isinstance(subject, (list, tuple)):
        raise _error(f"cannot iterate over {type_name(subject)}")

    def test(item: Any) -> bool:
        result = body(item)
        if not isinstance(result, bool):
            raise _error(f"predicate should return boolean (got {type_name(result)})")
        return result

    if name == "filter":
        return [x for x in subject if test(x)]
    if name == "map":
        return [body(x) for x in subject]
    if name == "all":
        return all(test(x) for x in subject)
    if name == "any":
        return any(test(x) for x in subject)
    if name == "none":
        return not any(test(x) for x in subject)
    if name == "one":
        return sum(1 for x in subject if test(x)) == 1
    return sum(1 for x in subject if test(x))
