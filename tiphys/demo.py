"""``make demo``: start the embedded cluster and show real clients working against it.

Every step runs a real command (the ``tiphys`` CLI, the machine's ``kubectl``) and prints it
first, so the output reads like a terminal session a user could repeat.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console

from .home import home

console = Console()

MANIFEST = """\
apiVersion: v1
kind: Namespace
metadata:
  name: demo
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: greeting
  namespace: demo
  labels: {app: hello}
data:
  message: hello from the embedded cluster
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: hello
  namespace: demo
spec:
  replicas: 2
  selector:
    matchLabels: {app: hello}
  template:
    metadata:
      labels: {app: hello}
    spec:
      containers:
      - name: web
        image: nginx:1.27
"""


def run(argv: list[str], *, env: dict[str, str], stdin: str | None = None, expect: int = 0) -> str:
    console.print(f"[bold cyan]$ {shlex.join(argv)}[/bold cyan]")
    result = subprocess.run(argv, input=stdin, capture_output=True, text=True, env=env, check=False)
    output = (result.stdout + result.stderr).rstrip()
    if output:
        console.print(output, markup=False, highlight=False)
    if result.returncode != expect:
        console.print(f"[red]command failed with exit code {result.returncode}[/red]")
        sys.exit(result.returncode)
    return result.stdout


def main() -> None:
    h = home()
    tiphys = [sys.executable, "-m", "tiphys.cli"]
    with tempfile.TemporaryDirectory(prefix="tiphys-demo-kubectl-") as kube_home:
        env = {**os.environ, "HOME": kube_home, "KUBECONFIG": str(h.kubeconfig)}
        console.rule("[bold]Tiphys: the embedded cluster")
        run([*tiphys, "up"], env=env)
        run([*tiphys, "status"], env=env)
        cache = f"--cache-dir={Path(kube_home) / 'cache'}"
        console.rule("[bold]kubectl talks to it over TLS with a bearer token")
        run(["kubectl", cache, "version"], env=env)
        run(["kubectl", cache, "get", "namespaces"], env=env)
        run(["kubectl", cache, "apply", "-f", "-"], env=env, stdin=MANIFEST)
        run(["kubectl", cache, "apply", "--server-side", "-f", "-"], env=env, stdin=MANIFEST)
        run(["kubectl", cache, "get", "deployments,configmaps", "-n", "demo", "--show-labels"], env=env)
        run(["kubectl", cache, "patch", "configmap", "greeting", "-n", "demo", "--type=merge",
             "-p", '{"data":{"message":"patched"}}'], env=env)
        run(["kubectl", cache, "get", "configmap", "greeting", "-n", "demo", "-o", "jsonpath={.data.message}"], env=env)
        console.print()
        run(["kubectl", cache, "explain", "deployment.spec.strategy"], env=env)
        run(["kubectl", cache, "delete", "namespace", "demo"], env=env)
        run(["kubectl", cache, "get", "namespaces"], env=env)
        sync_section(tiphys, cache, env)
        console.rule("[bold]Done")
        console.print(f"The cluster keeps running; its kubeconfig is {h.kubeconfig}.")
        console.print("Try: [bold]export KUBECONFIG=$(tiphys kubeconfig)[/bold] and any kubectl command; "
                      "[bold]tiphys down[/bold] stops it.")


def sync_section(tiphys: list[str], cache: str, env: dict[str, str]) -> None:
    """The seed's hooks: a PreSync health check and a PostSync integration test, both really run."""
    examples = Path(__file__).resolve().parent.parent / "examples"
    if not (examples / "seed").is_dir():
        return
    console.rule("[bold]tiphys sync: Argo CD's hook lifecycle (examples/seed)")
    sync = [*tiphys, "sync", str(examples / "seed"), "--app", "seed", "--dest-namespace", "seed",
            "--sync-option", "CreateNamespace=true"]
    run(sync, env=env)
    run(["kubectl", cache, "logs", "-n", "seed", "job/pre-sync-healthcheck"], env=env)
    run(["kubectl", cache, "logs", "-n", "seed", "job/post-sync-integration-test"], env=env)
    run([*sync, "--dry-run"], env=env)
    run(["kubectl", cache, "get", "applications.tiphys.io", "-n", "tiphys"], env=env)
    console.print("A Workflow hook is refused, clearly, until Tiphys runs Workflows (exit code 2):")
    run([*tiphys, "sync", str(examples / "seed-workflow"), "--app", "seed-workflow"], env=env, expect=2)
    run(["kubectl", cache, "delete", "namespace", "seed"], env=env)


if __name__ == "__main__":
    main()
