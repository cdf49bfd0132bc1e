"""``when`` (govaluate, spec §4.5) and ``depends`` (spec §7.3): the two small boolean languages.

``when`` is evaluated after substitution. Argo's twist is kept: a bare identifier becomes a string
literal, so ``heads == heads`` compares strings; ``my-value`` still splits at ``-`` and breaks the parse.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

__all__ = ["DEPENDS_RESULTS", "WhenError", "depends_tasks", "evaluate_depends", "evaluate_when", "parse_depends"]


class WhenError(Exception):
    """The message upstream gives for an invalid or non-boolean ``when``."""


_WHEN_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<str>'[^']*'|\"[^\"]*\")|(?P<op>==|!=|>=|<=|=~|!~|&&|\|\||[-+*/%<>!(),])"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))"
)
_PREC = {"||": 1, "&&": 2, "==": 3, "!=": 3, "<": 3, ">": 3, "<=": 3, ">=": 3, "=~": 3, "!~": 3, "in": 3,
         "+": 4, "-": 4, "*": 5, "/": 5, "%": 5}


def _when_tokens(text: str) -> list[tuple[str, Any]]:
    toks: list[tuple[str, Any]] = []
    pos = 0
    body = text.strip()
    while pos < len(body):
        m = _WHEN_TOKEN.match(body, pos)
        if m is None or m.end() == pos:
            raise WhenError(f"Invalid token: '{body[pos:].split()[0]}'")
        pos = m.end()
        if m.group("num"):
            toks.append(("val", float(m.group("num"))))
        elif m.group("str"):
            toks.append(("val", m.group("str")[1:-1]))
        elif m.group("op"):
            toks.append(("op", m.group("op")))
        else:
            word = m.group("word")
            if word in ("true", "false"):
                toks.append(("val", word == "true"))
            elif word == "in":
                toks.append(("op", "in"))
            else:
                toks.append(("val", word))  # Argo quotes bare identifiers
    return toks


class _WhenParser:
    def __init__(self, toks: list[tuple[str, Any]]) -> None:
        self.toks = toks
        self.i = 0

    def peek(self) -> tuple[str, Any] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def parse(self, min_prec: int = 0) -> Any:
        left = self.unary()
        while (tok := self.peek()) and tok[0] == "op" and tok[1] in _PREC and _PREC[tok[1]] > min_prec:
            self.i += 1
            op = tok[1]
            right = self.parse(_PREC[op])
            left = _apply(op, left, right)
        return left

    def unary(self) -> Any:
        tok = self.peek()
        if tok is None:
            raise WhenError("Unexpected end of expression")
        self.i += 1
        if tok == ("op", "!"):
            value = self.unary()
            if not isinstance(value, bool):
                raise WhenError(f"Value '{value}' cannot be used with the negate operator")
            return not value
        if tok == ("op", "-"):
            value = self.unary()
            if not isinstance(value, float):
                raise WhenError(f"Value '{value}' cannot be used with the negate operator")
            return -value
        if tok == ("op", "("):
            items = [self.parse()]
            while self.peek() == ("op", ","):
                self.i += 1
                items.append(self.parse())
            if self.peek() != ("op", ")"):
                raise WhenError("Unbalanced parenthesis")
            self.i += 1
            return items[0] if len(items) == 1 else tuple(items)
        if tok[0] == "val":
            return tok[1]
        raise WhenError(f"Unexpected token {tok[1]!r}")


def _apply(op: str, a: Any, b: Any) -> Any:
    if op == "&&" or op == "||":
        if not isinstance(a, bool) or not isinstance(b, bool):
            raise WhenError(f"Value '{a if not isinstance(a, bool) else b}' cannot be used with the logical operator")
        return (a and b) if op == "&&" else (a or b)
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if op == "in":
        return a in (b if isinstance(b, tuple) else (b,))
    if op in ("=~", "!~"):
        matched = re.search(str(b), str(a)) is not None
        return matched if op == "=~" else not matched
    if op in ("<", ">", "<=", ">="):
        if isinstance(a, float) and isinstance(b, float):
            return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
        if isinstance(a, str) and isinstance(b, str):
            return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
        raise WhenError(f"Value '{a}' cannot be used with the comparator '{op}', it is not a number")
    if isinstance(a, float) and isinstance(b, float):
        if op == "/" and b == 0:
            return float("inf")
        return {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else 0.0, "%": a % b if b else 0.0}[op]
    if op == "+":
        return f"{_fmt(a)}{_fmt(b)}"
    raise WhenError(f"Value '{a}' cannot be used with the modifier '{op}', it is not a number")


def _fmt(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def evaluate_when(resolved: str) -> bool:
    """The boolean of a substituted ``when``; raises WhenError with upstream's wording."""
    try:
        parser = _WhenParser(_when_tokens(resolved))
        value = parser.parse()
        if parser.peek() is not None:
            raise WhenError(f"Unexpected token {parser.peek()[1]!r}")  # type: ignore[index]
    except WhenError as e:
        hint = ""
        if "Invalid token" in str(e):
            hint = ' (hint: try wrapping the affected expression in quotes ("))'

        raise WhenError(f"Invalid 'when' expression '{resolved}': {e}{hint}") from None
    if not isinstance(value, bool):
        raise WhenError(f"Expected boolean evaluation for '{resolved}'. Got {_fmt(value)}")
    return value


# --- depends ----------------------------------------------------------------------------------------

DEPENDS_RESULTS = ("Succeeded", "Failed", "Errored", "Skipped", "Omitted", "Daemoned", "AnySucceeded", "AllFailed")
_DEPENDS_TOKEN = re.compile(r"\s*(?:(?P<op>&&|\|\||!|\(|\))|(?P<name>[A-Za-z0-9_][-A-Za-z0-9_]*(?:\.[A-Za-z]+)?))")

# A depends expression parses into nested tuples: ("and"|"or", l, r), ("not", x), ("ref", task, result|None).
Depends = tuple[Any, ...]


@lru_cache(maxsize=4096)
def parse_depends(text: str) -> Depends:
    """Parse a ``depends`` expression; raises ValueError naming the problem."""
    toks: list[tuple[str, str]] = []
    pos = 0
    body = text.strip()
    while pos < len(body):
        m = _DEPENDS_TOKEN.match(body, pos)
        if m is None or m.end() == pos:
            raise ValueError(f"invalid depends expression {text!r}")
        pos = m.end()
        toks.append(("op", m.group("op")) if m.group("op") else ("name", m.group("name")))
    i = 0

    def expr(level: int) -> Depends:
        nonlocal i
        left = term() if level == 2 else expr(level + 1)
        op = "||" if level == 0 else "&&"
        while level < 2 and i < len(toks) and toks[i] == ("op", op):
            i += 1
            right = expr(level + 1)
            left = ("or" if op == "||" else "and", left, right)
        return left

    def term() -> Depends:
        nonlocal i
        if i >= len(toks):
            raise ValueError(f"invalid depends expression {text!r}")
        kind, value = toks[i]
        i += 1
        if (kind, value) == ("op", "!"):
            return ("not", term())
        if (kind, value) == ("op", "("):
            inner = expr(0)
            if i >= len(toks) or toks[i] != ("op", ")"):
                raise ValueError(f"invalid depends expression {text!r}")
            i += 1
            return inner
        if kind != "name":
            raise ValueError(f"invalid depends expression {text!r}")
        task, _, result = value.partition(".")
        return ("ref", task, result or None)

    tree = expr(0)
    if i != len(toks):
        raise ValueError(f"invalid depends expression {text!r}")
    return tree


def depends_tasks(tree: Depends) -> list[tuple[str, str | None]]:
    """Every ``(task, result)`` the expression names, in order."""
    if tree[0] == "ref":
        return [(tree[1], tree[2])]
    return [ref for sub in tree[1:] for ref in depends_tasks(sub)]


def evaluate_depends(tree: Depends, results: Mapping[str, Mapping[str, bool]]) -> bool:
    """``results[task][Result]`` says which results hold; a bare name means Succeeded|Skipped|Daemoned."""
    kind = tree[0]
    if kind == "and":
        return evaluate_depends(tree[1], results) and evaluate_depends(tree[2], results)
    if kind == "or":
        return evaluate_depends(tree[1], results) or evaluate_depends(tree[2], results)
    if kind == "not":
        return not evaluate_depends(tree[1], results)
    holds = results.get(tree[1], {})
    if tree[2] is None:
        return holds.get("Succeeded", False) or holds.get("Skipped", False) or holds.get("Daemoned", False)
    return holds.get(tree[2], False)
