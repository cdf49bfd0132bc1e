"""Tools run with a deadline; credentials never reach a message."""

from __future__ import annotations

import os

import pytest

from tiphys.sources import Reason, SourceError
from tiphys.sources._process import run
from tiphys.sources.errors import mask_credentials


async def test_a_tool_past_its_deadline_is_killed() -> None:
    with pytest.raises(SourceError) as e:
        await run(["sleep", "30"], what="sleepy tool", reason=Reason.HELM_FAILED, env=dict(os.environ), timeout=0.2)
    assert (e.value.reason, e.value.message) == (Reason.HELM_FAILED, "sleepy tool timed out after 0.2s")


async def test_a_missing_tool_says_so() -> None:
    with pytest.raises(SourceError) as e:
        await run(["no-such-tool-xyz"], what="thing", reason=Reason.HELM_FAILED, env=dict(os.environ), timeout=5)
    assert (e.value.reason, e.value.message) == (
        Reason.TOOL_MISSING,
        "thing: no-such-tool-xyz is not installed (not found on PATH)",
    )


@pytest.mark.parametrize(
    "text, masked",
    [
        pytest.param("https://user:pass@host/r.git", "https://***@host/r.git", id="user-password"),
        pytest.param("fatal: https://ghp_token@github.com/o/r", "fatal: https://***@github.com/o/r", id="token"),
        pytest.param("ssh://git@host/r and http://a:b@c/", "ssh://***@host/r and http://***@c/", id="two"),
        pytest.param("git@github.com:o/r.git", "git@github.com:o/r.git", id="scp-like-has-no-secret"),
        pytest.param("https://host/r.git", "https://host/r.git", id="none"),
    ],
)
def test_mask_credentials(text: str, masked: str) -> None:
    assert mask_credentials(text) == masked
