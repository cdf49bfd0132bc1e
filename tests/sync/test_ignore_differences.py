"""``spec.ignoreDifferences`` in a real sync: ApplyOutOfSyncOnly skips what only differs there, and
``RespectIgnoreDifferences=true`` leaves the ignored live fields as they are (spec §11)."""

from __future__ import annotations

import pytest

from tiphys.controller import InvalidInput
from tiphys.engine import IgnoreRule, OperationPhase

from .conftest import configmap, result, write

pytestmark = pytest.mark.asyncio(loop_scope="session")

RULE = IgnoreRule(kind="ConfigMap", json_pointers=("/data/replicas",))


def settings(replicas: str, colour: str = "blue") -> dict:
    cm = configmap("settings")
    cm["data"] = {"replicas": replicas, "colour": colour}
    return cm


async def changed_by_hand(app, value: str) -> None:
    await app.kube.patch("v1", "ConfigMap", "settings", {"data": {"replicas": value}}, namespace=app.namespace)


async def test_without_respect_the_sync_still_writes_the_ignored_field(app, tmp_path):
    repo = write(tmp_path / "repo", settings("1"))
    await app.sync(repo, ignore_differences=(RULE,))
    await changed_by_hand(app, "5")
    state = await app.sync(repo, ignore_differences=(RULE,))
    assert state.phase is OperationPhase.SUCCEEDED
    assert (await app.get("ConfigMap", "settings"))["data"]["replicas"] == "1"


async def test_respect_ignore_differences_keeps_the_live_value(app, tmp_path):
    options = ("CreateNamespace=true", "RespectIgnoreDifferences=true")
    await app.sync(write(tmp_path / "v1", settings("1")), ignore_differences=(RULE,), sync_options=options)
    await changed_by_hand(app, "5")
    state = await app.sync(
        write(tmp_path / "v2", settings("1", "green")), ignore_differences=(RULE,), sync_options=options
    )
    assert state.phase is OperationPhase.SUCCEEDED
    live = await app.get("ConfigMap", "settings")
    assert live["data"] == {"replicas": "5", "colour": "green"}


async def test_apply_out_of_sync_only_skips_an_object_that_differs_only_in_ignored_fields(app, tmp_path):
    options = ("CreateNamespace=true", "ApplyOutOfSyncOnly=true")
    repo = write(tmp_path / "repo", settings("1"), configmap("other"))
    await app.sync(repo, ignore_differences=(RULE,), sync_options=options)
    await changed_by_hand(app, "5")
    state = await app.sync(repo, ignore_differences=(RULE,), sync_options=options)
    assert [r.name for r in state.results] == [], "nothing differs outside the ignored field"
    assert (await app.get("ConfigMap", "settings"))["data"]["replicas"] == "5"
    plain = await app.sync(repo, sync_options=options)
    assert result(plain, "settings").message == "configmap/settings configured"


async def test_an_invalid_rule_fails_before_anything_is_written(app, tmp_path):
    bad = IgnoreRule(kind="ConfigMap", jq_path_expressions=(".data[",))
    with pytest.raises(InvalidInput, match=r"ignoreDifferences: jqPathExpression '\.data\['"):
        await app.sync(write(tmp_path / "repo", settings("1")), ignore_differences=(bad,))
    assert await app.get("ConfigMap", "settings") is None
