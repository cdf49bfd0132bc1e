"""What a sandboxed container cannot do: write the host, read the data dir, reach the host network.

Each test runs a short script in a pod and reads its verdicts from the logs; where a control
makes the result meaningful (the same connection with the host's network), it runs beside.
"""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

from .helpers import pod, sh


def run(pods, name: str, script: str, **spec) -> str:
    pods.create(pod(name, sh(script), **spec))
    done = pods.wait_phase(name, "Succeeded", "Failed")
    assert done["status"]["phase"] == "Succeeded", pods.logs(name)
    return pods.logs(name)


def test_the_host_filesystem_is_read_only_and_tmp_is_private(pods):
    name = f"tiphys-sandbox-{uuid.uuid4().hex[:8]}"
    targets = [f"/usr/{name}", f"/etc/{name}", f"{Path.cwd()}/{name}", f"/var/tmp/{name}"]
    script = "".join(f"if touch {t} 2>/dev/null; then echo wrote {t}; else echo refused; fi; " for t in targets)
    script += f"touch /tmp/{name} && echo tmp ok"
    lines = run(pods, "writer", script).splitlines()
    assert lines == ["refused"] * len(targets) + ["tmp ok"]
    for target in [*targets, f"/tmp/{name}"]:
        assert not os.path.exists(target)


def test_the_data_dir_and_the_servers_home_are_hidden(pods, cluster):
    home = cluster.home
    token = home / "cluster" / "pki" / "admin.token"
    assert token.exists()
    script = (
        f"ls -A {home} 2>/dev/null | wc -l; "
        f"if cat {token} 2>/dev/null; then echo read the token; else echo no token; fi; "
        f"ls -A {Path.home()} 2>/dev/null | wc -l; "
        "ls /proc | grep -c '^[0-9]'"
    )
    lines = run(pods, "snoop", script).splitlines()
    assert lines[:3] == ["0", "no token", "0"]
    assert int(lines[3]) <= 4  # a PID namespace of its own: bwrap's init, sh, ls, grep


def test_pod_network_none_cannot_reach_a_port_on_the_host(pods):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        port = server.getsockname()[1]
        connect = (
            "python3 -c 'import socket,sys; s=socket.socket(); s.settimeout(2); "
            f'print("connected" if s.connect_ex(("127.0.0.1", {port})) == 0 else "refused")\''
        )
        isolated = run(pods, "isolated", connect, annotations={"tiphys.io/pod-network": "none"})
        shared = run(pods, "shared", connect)
    assert isolated == "refused\n"
    assert shared == "connected\n"
