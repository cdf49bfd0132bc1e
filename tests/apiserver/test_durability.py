"""Acknowledged writes survive: `tiphys down`/`up`, and SIGKILL of the server in the middle of a load."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

from conftest import free_port, start_cluster


def test_every_acknowledged_write_survives_sigkill(tmp_path):
    cluster = start_cluster(tmp_path / "home")
    acknowledged: list[str] = []
    stop = threading.Event()

    def load() -> None:
        with cluster.client() as client:
            i = 0
            while not stop.is_set():
                name = f"load-{i}"
                try:
                    response = client.post(
                        "/api/v1/namespaces/default/configmaps",
                        json={"metadata": {"name": name}, "data": {"i": str(i)}},
                    )
                except Exception:
                    return
                if response.status_code == 201:
                    acknowledged.append(name)
                i += 1

    writers = [threading.Thread(target=load) for _ in range(1)]
    for w in writers:
        w.start()
    while len(acknowledged) < 300:
        time.sleep(0.01)
    with cluster.client() as client:
        old_rv = client.get("/api/v1/namespaces/default/configmaps").json()["metadata"]["resourceVersion"]
    seen = len(acknowledged)
    while len(acknowledged) < seen + 20:  # writes after old_rv, so history is needed to watch from it
        time.sleep(0.01)
    cluster.process.send_signal(signal.SIGKILL)
    cluster.process.wait()
    stop.set()
    for w in writers:
        w.join()
    assert len(acknowledged) >= 300

    restarted = start_cluster(tmp_path / "home", port=cluster.port)
    try:
        with restarted.client() as client:
            body = client.get("/api/v1/namespaces/default/configmaps").json()
            stored = {item["metadata"]["name"] for item in body["items"]}
            missing = [name for name in acknowledged if name not in stored]
            assert missing == []
            # History does not survive a restart: a watch from before it must relist.
            events = client.get(
                "/api/v1/namespaces/default/configmaps",
                params={"watch": "true", "resourceVersion": old_rv, "timeoutSeconds": "1"},
            )
            first = json.loads(events.text.splitlines()[0])
            assert first["type"] == "ERROR"
            assert first["object"]["code"] == 410 and first["object"]["reason"] == "Expired"
            # The counter carries on: new writes get higher resourceVersions than any before.
            created = client.post("/api/v1/namespaces/default/configmaps", json={"metadata": {"name": "after"}})
            assert int(created.json()["metadata"]["resourceVersion"]) > int(body["metadata"]["resourceVersion"])
    finally:
        restarted.stop()


def _tiphys(home, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TIPHYS_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "tiphys.cli", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_tiphys_up_down_up_keeps_data(tmp_path, kubectl):
    home = tmp_path / "home"
    port = free_port()
    try:
        first = _tiphys(home, "up", "--port", str(port))
        assert first.returncode == 0, first.stderr
        again = _tiphys(home, "up")
        assert again.returncode == 0 and f"127.0.0.1:{port}" in again.stdout
        status = json.loads(_tiphys(home, "status", "-o", "json").stdout)
        assert status["running"] and status["ready"]
        kubeconfig = home / "kubeconfig"
        assert oct(kubeconfig.stat().st_mode & 0o777) == "0o600"
        local = type(kubectl)(kubeconfig, tmp_path / "kube")
        local("create", "configmap", "kept", "--from-literal=a=1")
        assert _tiphys(home, "down").returncode == 0
        stopped = _tiphys(home, "status")
        assert stopped.returncode == 3
        assert _tiphys(home, "up").returncode == 0
        assert local.json("get", "configmap", "kept")["data"] == {"a": "1"}
        assert _tiphys(home, "kubeconfig").stdout.strip() == str(kubeconfig)
    finally:
        _tiphys(home, "down")
