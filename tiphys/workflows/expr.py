"""The expr-lang subset behind ``{{=…}}`` tags and ``retryStrategy.expression`` (spec §3.3, §5).

A small Pratt parser and a tree-walking evaluator (see docs/decisions/0008). Supported: literals
(numbers, ``'…'``/``"…"``/backtick strings, ``true``, ``false``, ``nil``, ``[…]``, ``{k: v}``), member
access ``a.b``, ``a?.b``, ``a['k']``, ``a[0]``, calls, unary ``! not - +``, ``** ^ * / % + -``,
comparisons, ``in``/``not in``, ``matches``, ``contains``, ``startsWith``, ``endsWith``, ``&& and``,
``|| or``, ``??``, ternary ``c ? a : b``, range ``a..b``, and closures with ``#`` for the built-ins
``filter map all any none one count``. Functions: expr's ``len int float string toJSON fromJSON keys
values upper lower trim split join abs max min first last``, Argo's ``asInt asFloat toJson jsonpath``
and ``sprig.<fn>`` for the common Sprig string and list functions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import _builtins

__all__ = ["ExprError", "Missing", "compile_expr", "evaluate", "format_value"]


class ExprError(Exception):
    """A parse or evaluation error, worded like expr-lang's."""


class Missing(ExprError):
    """A name the environment does not (yet) have: ``tasks``/``steps`` references wait for it."""

    def __init__(self, name: str) -> None:
        super().__init__(f"{name} is missing")
        self.name = name


_TOKEN = re.compile(
    r"\s*(?:"
    r"(?P<num>\d+\.\d+(?:[eE][-+]?\d+)?|\d+(?:[eE][-+]?\d+)?|0[xX][0-9a-fA-F]+)"
    r"|(?P<str>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|`[^`]*`)"
    r"|(?P<name>[A-Za-z_$][A-Za-z0-9_$]*)"
    r"|(?P<op>\?\?|\?\.|\.\.|\*\*|==|!=|<=|>=|&&|\|\||[-+*/%^!<>?:.,()\[\]{}#|])"
    r")"
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "0": "\0", "b": "\b", "f": "\f"}
_WORD_OPS = {"and": "&&", "or": "||", "not": "not", "in": "in", "matches": "matches", "contains": "contains",
             "startsWith": "startsWith", "endsWith": "endsWith"}
_BINARY = {
    "??": 5, "||": 10, "&&": 15,
    "==": 20, "!=": 20, "<": 20, ">": 20, "<=": 20, ">=": 20, "in": 20, "not in": 20,
    "matches": 20, "contains": 20, "startsWith": 20, "endsWith": 20,
    "..": 25, "+": 30, "-": 30, "*": 60, "/": 60, "%": 60, "**": 100, "^": 100,
}
_RIGHT = {"**", "^"}


@dataclass(frozen=True)
class _Tok:
    kind: str  # num, str, name, op, end
    text: str
    value: Any = None


def _unescape(body: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt == "u" and i + 5 < len(body) + 0:
                out.append(chr(int(body[i + 2 : i + 6], 16)))
                i += 6
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _tokens(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    pos = 0
    stripped = text.rstrip()
    while pos < len(stripped):
        m = _TOKEN.match(stripped, pos)
        if m is None or m.end() == pos:
            raise ExprError(f"unexpected token {stripped[pos:].strip()[:1]!r} (1:{pos + 1})")
        pos = m.end()
        if m.group("num") is not None:
            raw = m.group("num")
            value: Any = int(raw, 16) if raw[:2].lower() == "0x" else (
                float(raw) if any(c in raw for c in ".eE") else int(raw))
            toks.append(_Tok("num", raw, value))
        elif m.group("str") is not None:
            raw = m.group("str")
            toks.append(_Tok("str", raw, raw[1:-1] if raw[0] == "`" else _unescape(raw[1:-1])))
        elif m.group("name") is not None:
            name = m.group("name")
            kind = "op" if name in _WORD_OPS else "name"
            toks.append(_Tok(kind, _WORD_OPS.get(name, name)))
        else:
            toks.append(_Tok("op", m.group("op")))
    toks.append(_Tok("end", ""))
    return toks


def _show(tok: _Tok) -> str:
    return "EOF" if tok.kind == "end" else repr(tok.text)


# An AST node is a tuple: (kind, ...). Kept as tuples so a compiled expression is cheap and hashable.
Node = tuple[Any, ...]


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def expect(self, text: str) -> None:
        tok = self.take()
        if tok.kind != "op" or tok.text != text:
            raise ExprError(f"unexpected token {_show(tok)}, expected {text!r}")

    def parse(self) -> Node:
        node = self.expression()
        if self.peek().kind != "end":
            raise ExprError(f"unexpected token {_show(self.peek())}")
        return node

    def expression(self, min_prec: int = 0) -> Node:
        left = self.unary()
        while True:
            tok = self.peek()
            if tok.kind != "op":
                break
            op = tok.text
            if op == "not" and self.toks[self.i + 1].text == "in":
                op = "not in"
            if op == "?" and min_prec == 0:
                self.take()
                yes = self.expression()
                self.expect(":")
                no = self.expression()
                left = ("if", left, yes, no)
                continue
            prec = _BINARY.get(op)
            if prec is None or prec < min_prec or (prec == min_prec and op not in _RIGHT):
                break
            self.take()
            if op == "not in":
                self.take()
            right = self.expression(prec if op in _RIGHT else prec + 1)
            left = ("bin", op, left, right)
        return left

    def unary(self) -> Node:
        tok = self.peek()
        if tok.kind == "op" and tok.text in ("!", "not"):
            self.take()
            return ("not", self.expression(50))
        if tok.kind == "op" and tok.text in ("-", "+"):
            self.take()
            return ("neg" if tok.text == "-" else "pos", self.expression(90))
        return self.postfix(self.primary())

    def primary(self) -> Node:
        tok = self.take()
        if tok.kind in ("num", "str"):
            return ("lit", tok.value)
        if tok.kind == "name":
            if tok.text in ("true", "false"):
                return ("lit", tok.text == "true")
            if tok.text == "nil":
                return ("lit", None)
            if self.peek().text == "(" and tok.text in _builtins.CLOSURE_FUNCS:
                return self.closure_call(tok.text)
            return ("name", tok.text)
        if tok.kind == "op":
            if tok.text == "(":
                inner = self.expression()
                self.expect(")")
                return inner
            if tok.text == "[":
                items = self.sequence("]")
                return ("list", tuple(items))
            if tok.text == "{":
                pairs: list[tuple[Node, Node]] = []
                while self.peek().text != "}":
                    key_tok = self.take()
                    if key_tok.kind in ("name", "str", "num"):
                        key: Node = ("lit", key_tok.text if key_tok.kind == "name" else key_tok.value)
                    else:
                        raise ExprError(f"unexpected token {key_tok.text!r} in map literal")
                    self.expect(":")
                    pairs.append((key, self.expression()))
                    if self.peek().text == ",":
                        self.take()
                self.expect("}")
                return ("map", tuple(pairs))
            if tok.text == "#":
                return ("pointer",)
        raise ExprError(f"unexpected token {_show(tok)}")

    def sequence(self, close: str) -> list[Node]:
        items: list[Node] = []
        while self.peek().text != close:
            items.append(self.expression())
            if self.peek().text == ",":
                self.take()
            elif self.peek().text != close:
                raise ExprError(f"unexpected token {_show(self.peek())}, expected {close!r}")
        self.take()
        return items

    def closure_call(self, name: str) -> Node:
        self.expect("(")
        subject = self.expression()
        self.expect(",")
        body = self.expression()
        self.expect(")")
        return ("closure", name, subject, body)

    def postfix(self, node: Node) -> Node:
        while True:
            tok = self.peek()
            if tok.kind != "op":
                return node
            if tok.text in (".", "?."):
                self.take()
                name = self.take()
                if name.kind not in ("name", "op") or not name.text.replace("$", "").replace("_", "a").isalnum():
                    raise ExprError(f"expected name after {tok.text!r}")
                node = ("member", node, name.text, tok.text == "?.")
            elif tok.text == "[":
                self.take()
                index = self.expression()
                self.expect("]")
                node = ("index", node, index)
            elif tok.text == "(":
                self.take()
                node = ("call", node, tuple(self.sequence(")")))
            else:
                return node


def compile_expr(text: str) -> Node:
    """Parse ``text``; raises ExprError naming the unexpected token."""
    if not text.strip():
        raise ExprError("unexpected token EOF")
    return _Parser(text).parse()


def evaluate(text: str | Node, env: Mapping[str, Any]) -> Any:
    """Evaluate an expression (text or compiled) against ``env`` (nested maps, as upstream expands them)."""
    node = compile_expr(text) if isinstance(text, str) else text
    return _Eval(env).run(node, None)


def format_value(value: Any) -> str:
    """How a result is inserted into text: strings as is, everything else as compact JSON (Go style)."""
    if isinstance(value, str):
        return value
    return _builtins.to_json(value)


class _Eval:
    def __init__(self, env: Mapping[str, Any]) -> None:
        self.env = env

    def run(self, node: Node, pointer: Any) -> Any:
        kind = node[0]
        if kind == "lit":
            return node[1]
        if kind == "name":
            name = node[1]
            if name in self.env:
                return self.env[name]
            if name in _builtins.FUNCS:
                return _builtins.FUNCS[name]
            if name == "sprig":
                return _builtins.SPRIG
            raise Missing(name)
        if kind == "pointer":
            return pointer
        if kind == "list":
            return [self.run(n, pointer) for n in node[1]]
        if kind == "map":
            return {str(self.run(k, pointer)): self.run(v, pointer) for k, v in node[1]}
        if kind == "member":
            base = self.run(node[1], pointer)
            return _member(base, node[2], optional=node[3])
        if kind == "index":
            return _index(self.run(node[1], pointer), self.run(node[2], pointer))
        if kind == "call":
            fn = self.run(node[1], pointer)
            if not callable(fn):
                raise ExprError(f"{_describe(node[1])} is not callable")
            args = [self.run(a, pointer) for a in node[2]]
            try:
                return fn(*args)
            except ExprError:
                raise
            except (TypeError, ValueError, KeyError, IndexError, AttributeError, json.JSONDecodeError) as e:
                raise ExprError(f"{_describe(node[1])}: {e}") from e
        if kind == "closure":
            subject = self.run(node[2], pointer)
            return _builtins.run_closure(node[1], subject, lambda item: self.run(node[3], item))
        if kind == "not":
            return not _truthy(self.run(node[1], pointer))
        if kind == "neg":
            value = self.run(node[1], pointer)
            if not _is_number(value):
                raise ExprError(f"invalid operation: - {_type_name(value)}")
            return -value
        if kind == "pos":
            return self.run(node[1], pointer)
        if kind == "if":
            return self.run(node[2] if _truthy(self.run(node[1], pointer)) else node[3], pointer)
        if kind == "bin":
            return self.binary(node[1], node[2], node[3], pointer)
        raise ExprError(f"unknown node {kind}")

    def binary(self, op: str, left_node: Node, right_node: Node, pointer: Any) -> Any:
        if op == "&&":
            return _truthy(self.run(left_node, pointer)) and _truthy(self.run(right_node, pointer))
        if op == "||":
            return _truthy(self.run(left_node, pointer)) or _truthy(self.run(right_node, pointer))
        if op == "??":
            try:
                left = self.run(left_node, pointer)
            except Missing:
                left = None
            return self.run(right_node, pointer) if left is None else left
        return _builtins.binary(op, self.run(left_node, pointer), self.run(right_node, pointer))


def _describe(node: Node) -> str:
    if node[0] == "name":
        return str(node[1])
    if node[0] == "member":
        return f"{_describe(node[1])}.{node[2]}"
    return "expression"


def _member(base: Any, name: str, *, optional: bool) -> Any:
    if base is None:
        if optional:
            return None
        raise ExprError(f"cannot fetch {name} from nil")
    if isinstance(base, Mapping):
        return base.get(name)
    raise ExprError(f"cannot fetch {name} from {_type_name(base)}")


def _index(base: Any, key: Any) -> Any:
    if isinstance(base, Mapping):
        return base.get(str(key)) if not isinstance(key, str) else base.get(key)
    if isinstance(base, (str, Sequence)):
        if not isinstance(key, int) or isinstance(key, bool):
            raise ExprError(f"cannot use {_type_name(key)} as index to {_type_name(base)}")
        n = len(base)
        i = key + n if key < 0 else key
        if not 0 <= i < n:
            raise ExprError(f"index out of range: {key} (array length is {n})")
        return base[i]
    if base is None:
        raise ExprError(f"cannot fetch {key} from nil")
    raise ExprError(f"cannot fetch {key} from {_type_name(base)}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ExprError(f"expected bool, but got {_type_name(value)}")


def _type_name(value: Any) -> str:
    return _builtins.type_name(value)

