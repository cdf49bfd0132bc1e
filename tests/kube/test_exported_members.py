"""``tiphys.kube.__all__`` is exactly its public names, and they show their public path (httpx's check)."""

from __future__ import annotations

import types

import tiphys.kube


def test_all_lists_exactly_the_public_names():
    public = sorted(
        name
        for name, value in vars(tiphys.kube).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    )
    assert sorted(tiphys.kube.__all__) == public


def test_exported_classes_and_functions_name_the_public_module():
    for name in tiphys.kube.__all__:
        member = getattr(tiphys.kube, name)
        if isinstance(member, type) or callable(member):
            assert member.__module__ == "tiphys.kube", name
