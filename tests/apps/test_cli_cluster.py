"""``tiphys cluster add|list|rm`` against two embedded clusters: the Secret written, and no token ever shown."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import yaml
from conftest import free_port

SECRETS = "/api/v1/namespaces/tiphys/secrets"


def cli(cluster, *args: str, check: int | None = None) -> subprocess.CompletedProcess[str]:
    """``tiphys ARGS`` with the session cluster as the default (embedded) home."""
    env = {**os.environ, "COLUMNS": "200", "TIPHYS_HOME": str(cluster.home)}
    env.pop("KUBECONFIG", None)
    done = subprocess.run(
        [sys.executable, "-m", "tiphys.cli", *args], capture_output=True, text=True, env=env, timeout=120
    )
    if check is not None:
        assert done.returncode == check, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def secret_data(cluster, name: str) -> dict[str, str] | None:
    with cluster.client() as http:
        answer = http.get(f"{SECRETS}/cluster-{name}")
    if answer.status_code == 404:
        return None
    secret = answer.json()
    assert secret["metadata"]["labels"]["argocd.argoproj.io/secret-type"] == "cluster"
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def test_add_list_rm(cluster, second_cluster):
    name = f"second-{uuid.uuid4().hex[:6]}"
    token = second_cluster.token
    done = cli(cluster, "cluster", "add", name, "--kubeconfig", str(second_cluster.kubeconfig), check=0)
    assert second_cluster.server in done.stdout
    data = secret_data(cluster, name)
    assert data is not None
    assert data["name"] == name and data["server"] == second_cluster.server
    config = json.loads(data["config"])
    assert config["bearerToken"] == token
    assert base64.b64decode(config["tlsClientConfig"]["caData"]) == second_cluster.ca.read_bytes()
    assert config["tlsClientConfig"]["insecure"] is False

    again = cli(cluster, "cluster", "add", name, "--kubeconfig", str(second_cluster.kubeconfig), check=1)
    assert "already exists" in again.stderr
    cli(cluster, "cluster", "add", name, "--kubeconfig", str(second_cluster.kubeconfig), "--upsert", check=0)

    listed = cli(cluster, "cluster", "list", "-o", "json", check=0)
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows[name]["server"] == second_cluster.server
    assert rows["in-cluster"]["server"] == "https://kubernetes.default.svc"
    text = cli(cluster, "cluster", "list", "--kubeconfig", str(cluster.kubeconfig), check=0)
    assert name in text.stdout and second_cluster.server in text.stdout
    for output in (done, again, listed, text, cli(cluster, "cluster", "list", "-o", "yaml", check=0)):
        assert token not in output.stdout + output.stderr

    cli(cluster, "cluster", "rm", name, check=0)
    assert secret_data(cluster, name) is None
    assert "not found" in cli(cluster, "cluster", "rm", name, check=1).stderr


def test_add_with_an_explicit_home(cluster, second_cluster, tmp_path):
    name = f"explicit-{uuid.uuid4().hex[:6]}"
    env_home = tmp_path / "unused-home"  # would start another embedded cluster if it were used
    env = {**os.environ, "TIPHYS_HOME": str(env_home)}
    argv = [sys.executable, "-m", "tiphys.cli", "cluster", "add", name, "--kubeconfig", str(second_cluster.kubeconfig),
            "--home-kubeconfig", str(cluster.kubeconfig)]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert secret_data(cluster, name) is not None
    assert not (env_home / "kubeconfig").exists()
    cli(cluster, "cluster", "rm", second_cluster.server, check=0)  # by server URL
    assert secret_data(cluster, name) is None


def _kubeconfig(source: Path, target: Path, **changes: object) -> Path:
    config = yaml.safe_load(source.read_text())
    for key, value in changes.items():
        section, field = key.split("__")
        config[section][0][section.rstrip("s")][field.replace("_", "-")] = value
    target.write_text(yaml.safe_dump(config))
    return target


def test_refusals_store_nothing(cluster, second_cluster, tmp_path):
    name = f"bad-{uuid.uuid4().hex[:6]}"
    kubeconfig = str(second_cluster.kubeconfig)
    assert (
        "context 'nope' not found"
        in cli(cluster, "cluster", "add", name, "--kubeconfig", kubeconfig, "--context", "nope", check=2).stderr
    )
    assert "home cluster" in cli(cluster, "cluster", "add", "in-cluster", "--kubeconfig", kubeconfig, check=2).stderr
    assert "invalid" in cli(cluster, "cluster", "add", "Bad_Name", "--kubeconfig", kubeconfig, check=2).stderr
    closed = _kubeconfig(
        second_cluster.kubeconfig, tmp_path / "closed.yaml", clusters__server=f"https://127.0.0.1:{free_port()}"
    )
    done = cli(cluster, "cluster", "add", name, "--kubeconfig", str(closed), check=1)
    assert "cannot be reached" in done.stderr
    assert second_cluster.token not in done.stderr
    config = yaml.safe_load(second_cluster.kubeconfig.read_text())
    config["users"][0]["user"] = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "aws"}}
    (tmp_path / "exec.yaml").write_text(yaml.safe_dump(config))
    assert (
        "exec plugin"
        in cli(cluster, "cluster", "add", name, "--kubeconfig", str(tmp_path / "exec.yaml"), check=2).stderr
    )
    assert secret_data(cluster, name) is None


def test_read_kubeconfig_inlines_files_relative_to_the_kubeconfig(tmp_path):
    from tiphys.cli.cluster import cluster_secret, read_kubeconfig

    (tmp_path / "pki").mkdir()
    (tmp_path / "pki" / "ca.crt").write_bytes(b"CA PEM")
    (tmp_path / "pki" / "client.crt").write_bytes(b"CERT PEM")
    (tmp_path / "pki" / "client.key").write_bytes(b"KEY PEM")
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "c", "cluster": {"server": "https://10.0.0.1:6443", "certificate-authority": "pki/ca.crt"}}
        ],
        "users": [{"name": "u", "user": {"client-certificate": "pki/client.crt", "client-key": "pki/client.key"}}],
        "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "ctx",
    }
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump(config))
    credentials = read_kubeconfig(tmp_path / "kubeconfig", None)
    assert "KEY" not in repr(credentials)
    secret = cluster_secret("edge", credentials)
    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert (data["name"], data["server"]) == ("edge", "https://10.0.0.1:6443")
    tls = json.loads(data["config"])["tlsClientConfig"]
    assert base64.b64decode(tls["caData"]) == b"CA PEM"
    assert base64.b64decode(tls["certData"]) == b"CERT PEM" and base64.b64decode(tls["keyData"]) == b"KEY PEM"
    assert "bearerToken" not in json.loads(data["config"])
    assert secret["metadata"]["labels"] == {"argocd.argoproj.io/secret-type": "cluster"}
