"""Which cluster ``tiphys.kube`` targets: the embedded one by default, a named one otherwise, never $KUBECONFIG."""

from __future__ import annotations

import pytest
import yaml

from tiphys.kube import KubeConfigError, default_kubeconfig, load_config


def kubeconfig(server: str, *, context: str, token: str = "decoy") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
        "users": [{"name": context, "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
        "current-context": context,
    }


def test_default_is_the_embedded_clusters_kubeconfig_and_kubeconfig_env_is_ignored(cluster, monkeypatch, tmp_path):
    decoy = tmp_path / "decoy"
    decoy.write_text(yaml.safe_dump(kubeconfig("https://10.255.255.1:6443", context="prod")))
    monkeypatch.setenv("KUBECONFIG", str(decoy))
    monkeypatch.setenv("TIPHYS_HOME", str(cluster.home))
    assert default_kubeconfig() == cluster.kubeconfig.resolve()
    config = load_config()
    assert config.current_context == "tiphys"
    assert config.get().cluster.server == cluster.server


def test_a_missing_embedded_kubeconfig_says_how_to_start_the_cluster(monkeypatch, tmp_path):
    monkeypatch.setenv("TIPHYS_HOME", str(tmp_path / "nothing"))
    with pytest.raises(KubeConfigError, match=r"no kubeconfig at .*: start the embedded cluster with `tiphys up`"):
        load_config()


def test_a_context_is_chosen_by_name_and_an_unknown_one_lists_the_known(cluster, tmp_path):
    config = kubeconfig("https://10.255.255.1:6443", context="prod")
    embedded = yaml.safe_load(cluster.kubeconfig.read_text())
    for section in ("clusters", "users", "contexts"):
        config[section] += embedded[section]
    path = tmp_path / "two-contexts"
    path.write_text(yaml.safe_dump(config))

    assert load_config(path).current_context == "prod"
    chosen = load_config(path, context="tiphys")
    assert (chosen.current_context, chosen.get().cluster.server) == ("tiphys", cluster.server)
    with pytest.raises(
        KubeConfigError, match=r"context 'staging' not found in kubeconfig .* \(contexts: prod, tiphys\)"
    ):
        load_config(path, context="staging")


@pytest.mark.parametrize(
    "content, message",
    [
        pytest.param(None, "not found", id="missing-file"),
        pytest.param("clusters: [", "could not be read", id="bad-yaml"),
        pytest.param("apiVersion: v1\nkind: Config\n", "has no clusters or no contexts", id="empty"),
        pytest.param(
            yaml.safe_dump({**kubeconfig("https://x:1", context="a"), "current-context": None}),
            "has no current-context",
            id="no-current-context",
        ),
        pytest.param(
            yaml.safe_dump({**kubeconfig("https://x:1", context="a"), "users": []}),
            "names no known user",
            id="no-user",
        ),
    ],
)
def test_unusable_kubeconfigs_say_why(tmp_path, content, message):
    path = tmp_path / "kubeconfig"
    if content is not None:
        path.write_text(content)
    with pytest.raises(KubeConfigError, match=message):
        load_config(path)
