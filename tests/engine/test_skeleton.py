"""A plan carried from one step to the next: when it may be, and that it equals a rebuild then.

``build_plan`` keeps each operation's sorted tasks and, on the next step, swaps the new live
objects in when nothing that shapes the plan changed (``tiphys.engine.skeleton``). Each test
steps a plan through one change of the live objects and checks both whether it was carried and
that the answer is exactly what a plan built from scratch gives.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from tiphys.engine import OperationState, Plan, build_plan
from tiphys.engine import plan as plan_module
from tiphys.engine.annotations import HOOK, SYNC_WAVE
from tiphys.engine.skeleton import Skeleton, forget_all
from tiphys.engine.tracking import TRACKING_ID
from tiphys.engine.world import World

from .builders import deployment, job, obj
from .stepping import KINDS, REVISION, start

DESIRED = (
    obj("ConfigMap", "settings", annotations={SYNC_WAVE: "-1"}),
    deployment("web"),
    job("migrate", annotations={HOOK: "PreSync"}),
)


def live(manifest: dict[str, Any], uid: str, **status: Any) -> dict[str, Any]:
    """``manifest`` as the server holds it for app ``app``: tracked, in namespace apps, with a uid."""
    found = copy.deepcopy(manifest)
    meta = found["metadata"]
    meta.setdefault("namespace", "apps")
    meta["uid"] = uid
    group = found["apiVersion"].rpartition("/")[0]
    meta.setdefault("annotations", {})[TRACKING_ID] = f"app:{group}/{found['kind']}:apps/{meta['name']}"
    if status:
        found["status"] = status
    return found


def world(*objects: dict[str, Any]) -> World:
    return World(app="app", namespace="apps", revision=REVISION, desired=DESIRED, live=objects, kinds=KINDS)


@pytest.fixture
def carried(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """Whether each step's plan was carried over (True) or rebuilt after a carry was refused (False)."""
    answers: list[bool] = []
    original = plan_module.carry

    def spy(*args: Any, **kwargs: Any) -> Skeleton | None:
        found = original(*args, **kwargs)
        answers.append(found is not None)
        return found

    monkeypatch.setattr(plan_module, "carry", spy)
    forget_all()
    yield answers
    forget_all()


def rebuilt(state: OperationState, now: World) -> Plan:
    forget_all()
    return build_plan(state, now)


def step_twice(before: World, after: World) -> tuple[Plan, Plan]:
    """The plan of ``after`` stepped from ``before``'s, and the same plan built from scratch."""
    state = start()
    build_plan(state, before)
    return build_plan(state, after), rebuilt(state, after)


def task(plan: Plan, name: str) -> Any:
    return next(t for t in plan.tasks if t.name == name)


CONFIG = live(DESIRED[0], "u-cm")
WEB = live(DESIRED[1], "u-web", availableReplicas=0)


def test_a_status_change_is_carried_with_the_new_object(carried: list[bool]) -> None:
    healthy = live(DESIRED[1], "u-web", availableReplicas=1)
    stepped, fresh = step_twice(world(CONFIG, WEB), world(CONFIG, healthy))
    assert carried == [True]
    assert stepped.tasks == fresh.tasks
    assert task(stepped, "web").live is healthy


def test_an_annotation_outside_the_plan_is_carried(carried: list[bool]) -> None:
    revised = copy.deepcopy(WEB)
    revised["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = "1"
    stepped, fresh = step_twice(world(CONFIG, WEB), world(CONFIG, revised))
    assert carried == [True]
    assert stepped.tasks == fresh.tasks


def test_a_changed_wave_annotation_is_rebuilt(carried: list[bool]) -> None:
    # A live object's wave only matters for a prune, so the prune candidate's wave changes here.
    old = live(obj("ConfigMap", "old"), "u-old")
    moved = copy.deepcopy(old)
    moved["metadata"]["annotations"][SYNC_WAVE] = "7"
    stepped, fresh = step_twice(world(CONFIG, WEB, old), world(CONFIG, WEB, moved))
    assert carried == [False]
    assert stepped.tasks == fresh.tasks
    assert task(stepped, "old").wave == 7


def test_an_object_just_created_becomes_its_targets_live_object(carried: list[bool]) -> None:
    stepped, fresh = step_twice(world(CONFIG), world(CONFIG, WEB))
    assert carried == [True]
    assert stepped.tasks == fresh.tasks
    assert task(stepped, "web").live is WEB


def test_a_hook_just_created_becomes_the_hook_tasks_live_object(carried: list[bool]) -> None:
    state = start()
    first = build_plan(state, world(CONFIG, WEB))
    hook = task(first, "migrate")
    assert hook.live is None
    created = live(hook.target, "u-hook", active=1)
    after = world(CONFIG, WEB, created)
    stepped = build_plan(state, after)
    assert carried == [True]
    assert stepped.tasks == rebuilt(state, after).tasks
    assert task(stepped, "migrate").live is created


def test_a_deleted_object_is_rebuilt(carried: list[bool]) -> None:
    stepped, fresh = step_twice(world(CONFIG, WEB), world(CONFIG))
    assert carried == [False]
    assert stepped.tasks == fresh.tasks
    assert task(stepped, "web").live is None


def test_objects_the_plan_never_sees_come_and_go_freely(carried: list[bool]) -> None:
    stranger = obj("ConfigMap", "someone-elses", namespace="apps")
    pod = obj("Pod", "web-abc12", namespace="apps")
    stepped, fresh = step_twice(world(CONFIG, WEB, stranger), world(CONFIG, WEB, pod))
    assert carried == [True]
    assert stepped.tasks == fresh.tasks


def test_an_object_that_starts_being_tracked_is_rebuilt(carried: list[bool]) -> None:
    # An untracked object named like nothing desired is invisible; once tracked by the app it is a prune candidate.
    untracked = obj("ConfigMap", "adopted", namespace="apps")
    tracked = live(obj("ConfigMap", "adopted"), "u-adopted")
    stepped, fresh = step_twice(world(CONFIG, WEB, untracked), world(CONFIG, WEB, tracked))
    assert carried == [False]
    assert stepped.tasks == fresh.tasks
    assert [t.name for t in stepped.tasks if t.is_prune] == ["adopted"]
