"""The package's public names are exactly ``__all__`` (httpx ``test_exported_members``)."""

from __future__ import annotations

import types

import tiphys.engine as engine
import tiphys.engine.health as health

EXPORTED_MODULES = {"actions", "csa", "diff", "health", "merge", "messages", "tracking"}


def public_names(package):
    return {
        name
        for name, value in vars(package).items()
        if not name.startswith("_") and (not isinstance(value, types.ModuleType) or name in EXPORTED_MODULES)
    }


def test_engine_all_matches_public_names():
    assert sorted(engine.__all__) == sorted(set(engine.__all__))
    assert set(engine.__all__) == public_names(engine)


def test_health_all_matches_public_names():
    assert set(health.__all__) == public_names(health) - EXPORTED_MODULES


def test_every_module_declares_all():
    import importlib
    import pkgutil

    for info in pkgutil.walk_packages(engine.__path__, prefix="tiphys.engine."):
        module = importlib.import_module(info.name)
        assert hasattr(module, "__all__"), info.name
        for name in module.__all__:
            assert hasattr(module, name), f"{info.name}.{name}"
