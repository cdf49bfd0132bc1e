"""`tiphys up` runs the controller: the embedded cluster spawns `tiphys controller` as a supervised child."""

from __future__ import annotations

import os
import signal

from .conftest import AppsApi, app_manifest, configmap, start_cluster, wait_until


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def _cmdline(pid: int) -> str:
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().replace(b"\0", b" ").decode()


def test_the_embedded_cluster_supervises_a_controller(git_server, tmp_path):
    running = start_cluster(tmp_path / "home", controllers=True)
    api = None
    restarted = -1
    try:
        api = AppsApi(running)
        repo = git_server.repo("up", {"app/cm.yaml": configmap("x")})
        api.create(app_manifest("supervised", repo=repo.url, path="app", namespace="supervised"))
        wait_until(lambda: api.sync_status("supervised") == "OutOfSync", 90, message="the child controller refreshes")
        [child] = [p for p in _children(running.process.pid) if "tiphys controller" in _cmdline(p)]
        assert f"--kubeconfig {running.kubeconfig}" in _cmdline(child)
        os.kill(child, signal.SIGKILL)
        [restarted] = wait_until(
            lambda: [p for p in _children(running.process.pid) if "tiphys controller" in _cmdline(p) and p != child],
            30,
            message="the killed controller is restarted",
        )
        log = running.home / "cluster" / "controller.log"
        assert "leading as" in log.read_text()
        address = (running.home / "cluster" / "webhook-addr").read_text().strip()
        assert f"--webhook-addr {address}" in _cmdline(restarted)
    finally:
        if api is not None:
            api.close()
        running.stop()
    assert not os.path.exists(f"/proc/{restarted}"), "the controller is stopped with the cluster"
