"""include/exclude globs behave like gobwas/glob without separators, as Argo CD uses it."""

from __future__ import annotations

import pytest

from tiphys.sources import SourceError
from tiphys.sources.globs import glob_match


@pytest.mark.parametrize(
    "pattern, path, expected",
    [
        pytest.param("*.yaml", "a.yaml", True, id="star"),
        pytest.param("*.yaml", "sub/a.yaml", True, id="star-crosses-slash"),
        pytest.param("*.yaml", "a.yml", False, id="star-needs-suffix"),
        pytest.param("config.json", "config.json", True, id="literal"),
        pytest.param("config.json", "sub/config.json", False, id="literal-is-whole-path"),
        pytest.param("{*.yml,*.yaml}", "a.yml", True, id="braces-first"),
        pytest.param("{*.yml,*.yaml}", "b/a.yaml", True, id="braces-second"),
        pytest.param("{*.yml,*.yaml}", "a.json", False, id="braces-none"),
        pytest.param("{config.json,env-usw2/*}", "env-usw2/cm.yaml", True, id="argo-doc-example"),
        pytest.param("a.yaml,b.yaml", "a.yaml", False, id="comma-outside-braces-is-literal"),
        pytest.param("a.yaml,b.yaml", "a.yaml,b.yaml", True, id="comma-literal-matches-itself"),
        pytest.param("some-directory/*", "some-directory/x/y.yaml", True, id="dir-prefix"),
        pytest.param("?.yaml", "a.yaml", True, id="question-one-char"),
        pytest.param("?.yaml", "ab.yaml", False, id="question-only-one"),
        pytest.param("[ab].yaml", "b.yaml", True, id="class"),
        pytest.param("[!ab].yaml", "b.yaml", False, id="negated-class"),
        pytest.param("[a-c]*.yaml", "cm.yaml", True, id="range"),
        pytest.param(r"\*.yaml", "*.yaml", True, id="escaped-star"),
        pytest.param(r"\*.yaml", "a.yaml", False, id="escaped-star-is-literal"),
        pytest.param("{a,{b,c}}.yaml", "c.yaml", True, id="nested-braces"),
        pytest.param("a.(yaml)", "a.(yaml)", True, id="regex-chars-are-literal"),
        pytest.param("**/*.yaml", "x/y/z.yaml", True, id="double-star"),
    ],
)
def test_glob_match(pattern: str, path: str, expected: bool) -> None:
    assert glob_match(pattern, path) is expected


@pytest.mark.parametrize("pattern", ["{a,b", "[ab", "a\\", "[]"])
def test_malformed_glob_is_refused_by_name(pattern: str) -> None:
    with pytest.raises(SourceError) as e:
        glob_match(pattern, "a.yaml")
    assert e.value.message.startswith(f"glob {pattern!r}: ")
