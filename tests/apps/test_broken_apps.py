"""Broken Applications (bad repository URL, bad path, invalid YAML) never block or slow the healthy ones.

Each broken app shows a ``ComparisonError`` condition that says what is wrong and sync status
Unknown; the healthy apps beside them are synced automatically all the same. The small case runs
in every test run; the full 100 + 100 of the issue is marked slow.
"""

from __future__ import annotations

import time
import uuid

import pytest

from .conftest import app_manifest, configmap, free_port, wait_until


def _run(git_server, apps, controller, *, healthy: int, broken_each: int, timeout: float) -> float:
    tag = uuid.uuid4().hex[:5]
    good = git_server.repo("good", {"app/cm.yaml": configmap("settings", mode="on")})
    invalid = git_server.repo("invalid", {"app/bad.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: [unclosed\n"})
    closed = free_port()  # nothing listens here
    broken: dict[str, str] = {}
    for i in range(broken_each):
        cases = {
            f"url-{tag}-{i}": (
                app_manifest(f"url-{tag}-{i}", repo=f"git://127.0.0.1:{closed}/nope-{i}.git"),
                "git ls-remote",
            ),
            f"path-{tag}-{i}": (app_manifest(f"path-{tag}-{i}", repo=good.url, path=f"missing-{i}"), f"missing-{i}"),
            f"yaml-{tag}-{i}": (app_manifest(f"yaml-{tag}-{i}", repo=invalid.url, path="app"), "bad.yaml"),
        }
        for name, (manifest, expected) in cases.items():
            apps.create(manifest)
            broken[name] = expected
    names = [f"ok-{tag}-{i}" for i in range(healthy)]
    for name in names:
        apps.create(
            app_manifest(
                name,
                repo=good.url,
                path="app",
                namespace=name,
                automated={"prune": True},
                sync_options=("CreateNamespace=true",),
            )
        )
    started = time.monotonic()
    controller.start()

    def synced() -> bool:
        statuses = {a["metadata"]["name"]: a.get("status") or {} for a in apps.list()}
        return all(
            statuses[n].get("sync", {}).get("status") == "Synced"
            and statuses[n].get("health", {}).get("status") == "Healthy"
            for n in names
        )

    wait_until(synced, timeout, interval=0.5, message=f"all {healthy} healthy apps Synced and Healthy")
    elapsed = time.monotonic() - started

    def reported() -> dict[str, list[dict]]:
        conditions = {a["metadata"]["name"]: (a.get("status") or {}).get("conditions") or [] for a in apps.list()}
        return conditions if all(conditions.get(n) for n in broken) else {}

    conditions = wait_until(reported, timeout, interval=0.5, message="every broken app has a condition")
    for name, expected in broken.items():
        [condition] = conditions[name]
        assert condition["type"] == "ComparisonError", (name, condition)
        assert condition["message"].startswith("Failed to load target state: "), (name, condition)
        assert expected in condition["message"], (name, condition)
        assert apps.sync_status(name) == "Unknown"
    return elapsed


def test_broken_apps_do_not_block_healthy_ones(git_server, apps, controller):
    _run(git_server, apps, controller, healthy=10, broken_each=4, timeout=120)


@pytest.mark.slow
def test_a_hundred_broken_apps_beside_a_hundred_healthy_ones(git_server, apps, controller):
    elapsed = _run(git_server, apps, controller, healthy=100, broken_each=34, timeout=180)
    print(f"100 healthy apps Synced and Healthy beside 102 broken ones in {elapsed:.1f}s")
