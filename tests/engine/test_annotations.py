"""Annotation names and Argo CD's tolerant parsing (spec §1)."""

from __future__ import annotations

import pytest

from tiphys.engine import annotations as keys
from tiphys.engine.annotations import csv, has_option, int_annotation, invalid_int_annotation, option_value, parse_int

from .builders import annotated, obj


def test_annotation_names_are_exact():
    assert keys.HOOK == "argocd.argoproj.io/hook"
    assert keys.HOOK_DELETE_POLICY == "argocd.argoproj.io/hook-delete-policy"
    assert keys.SYNC_WAVE == "argocd.argoproj.io/sync-wave"
    assert keys.SYNC_OPTIONS == "argocd.argoproj.io/sync-options"
    assert keys.DELETION_APPROVED == "argocd.argoproj.io/deletion-approved"
    assert keys.IGNORE_RESTART_POLICY == "argocd.argoproj.io/ignore-restart-policy"
    assert keys.IGNORE_HEALTHCHECK == "argocd.argoproj.io/ignore-healthcheck"
    assert keys.HOOK_FINALIZER == "argocd.argoproj.io/hook-finalizer"
    assert keys.HELM_HOOK == "helm.sh/hook"
    assert keys.HELM_HOOK_WEIGHT == "helm.sh/hook-weight"
    assert keys.HELM_HOOK_DELETE_POLICY == "helm.sh/hook-delete-policy"
    assert keys.HELM_RESOURCE_POLICY == "helm.sh/resource-policy"
    assert keys.SSA_FIELD_MANAGER == "argocd-controller"
    assert keys.CSA_MIGRATION_MANAGER == "kubectl-client-side-apply"
    assert keys.APP_DELETION_FINALIZERS == (
        "pre-delete-finalizer.argocd.argoproj.io",
        "pre-delete-finalizer.argocd.argoproj.io/cleanup",
        "post-delete-finalizer.argocd.argoproj.io",
        "post-delete-finalizer.argocd.argoproj.io/cleanup",
    )


@pytest.mark.parametrize(
    "value, expected",
    [
        pytest.param(None, [], id="missing"),
        pytest.param("", [], id="empty"),
        pytest.param("PreSync", ["PreSync"], id="one"),
        pytest.param(" PreSync , PostSync ", ["PreSync", "PostSync"], id="trimmed"),
        pytest.param("a,,b,", ["a", "b"], id="empty-items-dropped"),
        pytest.param("b,a,b,a", ["b", "a"], id="deduplicated-first-occurrence"),
        pytest.param("Sync,sync", ["Sync", "sync"], id="case-sensitive"),
    ],
)
def test_csv(value, expected):
    thing = annotated({"k": value}) if value is not None else obj()
    assert csv(thing, "k") == expected


def test_has_option_is_exact():
    thing = annotated({keys.SYNC_OPTIONS: "Prune=false, Replace=true"})
    assert has_option(thing, keys.SYNC_OPTIONS, "Prune=false")
    assert has_option(thing, keys.SYNC_OPTIONS, "Replace=true")
    assert not has_option(thing, keys.SYNC_OPTIONS, "Prune=False")
    assert not has_option(thing, keys.SYNC_OPTIONS, "Prune")


@pytest.mark.parametrize(
    "value, expected",
    [
        pytest.param("Prune=confirm", "confirm", id="value"),
        pytest.param("Replace=true,Prune=false,Prune=confirm", "false", id="first-wins"),
        pytest.param("Prune=", "", id="empty-value"),
        pytest.param("PruneLast=true", None, id="other-key-with-same-prefix"),
        pytest.param("Prune", None, id="no-equals"),
    ],
)
def test_option_value(value, expected):
    assert option_value(annotated({keys.SYNC_OPTIONS: value}), keys.SYNC_OPTIONS, "Prune") == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param("0", 0, id="zero"),
        pytest.param("5", 5, id="positive"),
        pytest.param("-3", -3, id="negative"),
        pytest.param("+7", 7, id="plus-sign"),
        pytest.param("007", 7, id="leading-zeros"),
        pytest.param("9223372036854775807", 2**63 - 1, id="int64-max"),
        pytest.param("-9223372036854775808", -(2**63), id="int64-min"),
        pytest.param("9223372036854775808", None, id="overflow"),
        pytest.param(" 5", None, id="leading-space"),
        pytest.param("5 ", None, id="trailing-space"),
        pytest.param("5\n", None, id="trailing-newline"),
        pytest.param("1_0", None, id="underscore"),
        pytest.param("1.5", None, id="decimal"),
        pytest.param("1e3", None, id="exponent"),
        pytest.param("0x10", None, id="hex"),
        pytest.param("\u0665", None, id="non-ascii-digit"),
        pytest.param("", None, id="empty"),
        pytest.param("-", None, id="sign-only"),
        pytest.param("one", None, id="word"),
    ],
)
def test_parse_int_is_go_atoi(text, expected):
    assert parse_int(text) == expected


def test_int_annotation_and_the_invalid_value():
    thing = annotated({"good": "-2", "bad": "two"})
    assert int_annotation(thing, "good") == -2
    assert int_annotation(thing, "bad") is None
    assert int_annotation(thing, "absent") is None
    assert invalid_int_annotation(thing, "bad") == "two"
    assert invalid_int_annotation(thing, "good") is None
    assert invalid_int_annotation(thing, "absent") is None


@pytest.mark.parametrize(
    "metadata",
    [
        pytest.param(None, id="no-metadata"),
        pytest.param("oops", id="metadata-not-object"),
        pytest.param({"annotations": ["a"]}, id="annotations-not-object"),
        pytest.param({"annotations": {"k": 5}}, id="non-string-value"),
    ],
)
def test_malformed_metadata_reads_as_no_annotations(metadata):
    thing = {"kind": "Pod", "metadata": metadata}
    assert csv(thing, "k") == []
