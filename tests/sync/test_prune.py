"""Pruning: reversed waves, PruneLast, Prune=false and the operation's prune flag (spec §3.7, §4.9 b, §10.4)."""

from __future__ import annotations

import pytest

from tiphys.engine import OperationPhase, ResultCode

from .conftest import OPTIONS, WAVE, configmap, write

pytestmark = pytest.mark.asyncio(loop_scope="session")


def first_revision():
    return [
        configmap("keep"),
        configmap("a", **{WAVE: "1"}),
        configmap("b", **{WAVE: "2"}),
        configmap("c", **{WAVE: "3"}),
        configmap("stays", **{WAVE: "1", OPTIONS: "Prune=false"}),
    ]


async def test_prunes_run_in_reverse_wave_order_interleaved_with_creates(app, tmp_path):
    await app.sync(write(tmp_path / "v1", *first_revision()))
    state = await app.sync(write(tmp_path / "v2", configmap("keep"), configmap("new", **{WAVE: "2"})), prune=True)
    assert state.phase is OperationPhase.SUCCEEDED
    done = [(r.name, r.status.value) for r in state.results if r.kind == "ConfigMap"]
    # Prune waves mirror the prune candidates left at each step, as Argo CD rebuilds its tasks every
    # step: c (3 -> 1) goes first; then b (2 -> 1) of the rest; a and stays last, with new's wave 2.
    assert done == [
        ("keep", "Synced"),
        ("c", "Pruned"),
        ("b", "Pruned"),
        ("stays", "PruneSkipped"),
        ("a", "Pruned"),
        ("new", "Synced"),
    ]
    assert set(await app.names("ConfigMap")) >= {"keep", "new", "stays"}
    assert not set(await app.names("ConfigMap")) & {"a", "b", "c"}
    stays = next(r for r in state.results if r.name == "stays")
    assert (stays.status, stays.message) == (ResultCode.PRUNE_SKIPPED, "ignored (no prune)")


async def test_prune_last_prunes_after_the_last_sync_wave(app, tmp_path):
    await app.sync(write(tmp_path / "v1", *first_revision()[:4]))
    state = await app.sync(
        write(tmp_path / "v2", configmap("keep"), configmap("new", **{WAVE: "2"})),
        prune=True,
        sync_options=("CreateNamespace=true", "PruneLast=true"),
    )
    assert state.phase is OperationPhase.SUCCEEDED
    assert [r.name for r in state.results if r.kind == "ConfigMap"] == ["keep", "new", "a", "b", "c"]


async def test_without_prune_removed_objects_are_only_reported(app, tmp_path):
    await app.sync(write(tmp_path / "v1", *first_revision()[:2]))
    state = await app.sync(write(tmp_path / "v2", configmap("keep")))
    assert (state.phase, state.message) == (OperationPhase.SUCCEEDED, "successfully synced (all tasks run)")
    a = next(r for r in state.results if r.name == "a")
    assert (a.status, a.message) == (ResultCode.PRUNE_SKIPPED, "ignored (requires pruning)")
    assert "a" in await app.names("ConfigMap")
