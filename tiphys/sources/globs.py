"""``directory.include``/``exclude`` globs, matched the way Argo CD matches them.

Argo CD compiles the pattern with ``github.com/gobwas/glob`` and no separators, then matches the
file's path relative to the application path. So ``*`` also crosses ``/`` (``*.yaml`` matches
``sub/a.yaml``), ``?`` is any one character, ``[abc]``/``[a-z]`` and ``[!abc]`` are classes,
``{a,b}`` lists alternatives (the way to give several patterns: ``{config.json,env-usw2/*}``),
and ``\\`` escapes. A comma or ``}`` outside braces is an ordinary character.
"""

from __future__ import annotations

import functools
import re

from tiphys.sources.errors import Reason, SourceError

__all__ = ["compile_glob", "glob_match"]


def glob_match(pattern: str, path: str) -> bool:
    """Whether ``path`` (relative, with ``/``) matches the Argo CD glob ``pattern``."""
    return compile_glob(pattern).fullmatch(path) is not None


@functools.lru_cache(maxsize=256)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """The glob as a regular expression; a malformed glob is a SourceError naming it."""
    parser = _Parser(pattern)
    return re.compile(parser.sequence(in_braces=False), re.DOTALL)


class _Parser:
    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.pos = 0

    def fail(self, problem: str) -> None:
        raise SourceError(Reason.INVALID_SOURCE, f"glob {self.pattern!r}: {problem} at position {self.pos}")

    def sequence(self, *, in_braces: bool) -> str:
        out: list[str] = []
        while self.pos < len(self.pattern):
            char = self.pattern[self.pos]
            if in_braces and char in ",}":
                break
            self.pos += 1
            if char == "*":
                while self.pos < len(self.pattern) and self.pattern[self.pos] == "*":
                    self.pos += 1
                out.append(".*")
            elif char == "?":
                out.append(".")
            elif char == "[":
                out.append(self.char_class())
            elif char == "{":
                out.append(self.alternatives())
            elif char == "\\":
                out.append(re.escape(self.escaped()))
            else:
                out.append(re.escape(char))
        return "".join(out)

    def escaped(self) -> str:
        if self.pos >= len(self.pattern):
            self.fail("a trailing '\\' escapes nothing")
        char = self.pattern[self.pos]
        self.pos += 1
        return char

    def char_class(self) -> str:
        negate = self.pos < len(self.pattern) and self.pattern[self.pos] == "!"
        if negate:
            self.pos += 1
        items: list[str] = []
        while True:
            if self.pos >= len(self.pattern):
                self.fail("unclosed '['")
            char = self.pattern[self.pos]
            self.pos += 1
            if char == "]":
                break
            if char == "\\":
                char = self.escaped()
            if self.pos + 1 < len(self.pattern) and self.pattern[self.pos] == "-" and self.pattern[self.pos + 1] != "]":
                self.pos += 1
                high = self.pattern[self.pos]
                self.pos += 1
                if high == "\\":
                    high = self.escaped()
                if high < char:
                    self.fail(f"range {char}-{high} is reversed")
                items.append(f"{re.escape(char)}-{re.escape(high)}")
            else:
                items.append(re.escape(char))
        if not items:
            self.fail("empty '[]'")
        return f"[{'^' if negate else ''}{''.join(items)}]"

    def alternatives(self) -> str:
        options = [self.sequence(in_braces=True)]
        while True:
            if self.pos >= len(self.pattern):
                self.fail("unclosed '{'")
            char = self.pattern[self.pos]
            self.pos += 1
            if char == "}":
                return "(?:" + "|".join(options) + ")"
            options.append(self.sequence(in_braces=True))
