"""``make demo``: start the embedded cluster and show real clients working against it.

Every step runs a real command (the ``tiphys`` CLI, the machine's ``kubectl``) and prints it
first, so the output reads like a terminal session a user could repeat.
"""

from __future__ import annotations

import os
import shlex
import shutil
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
    run(["kubectl", cache, "delete", "namespace", "seed"], env=env)
    workflow_section(tiphys, cache, env, examples)
    app_section(tiphys, cache, env, examples)


def workflow_section(tiphys: list[str], cache: str, env: dict[str, str], examples: Path) -> None:
    """The seed's Workflow hook runs for real; its failure variant stops the sync before the Sync phase."""
    if not (examples / "seed-workflow").is_dir():
        return
    console.rule("[bold]Argo Workflows as hooks: Tiphys's workflow controller (examples/seed-workflow)")
    kubeconfig = env["KUBECONFIG"]  # `tiphys up` runs the workflow controller beside the cluster
    ns = ["--dest-namespace", "seed-wf", "--sync-option", "CreateNamespace=true"]
    run([*tiphys, "sync", str(examples / "seed-workflow"), "--app", "seed-workflow", *ns], env=env)
    run(["kubectl", cache, "get", "workflows", "-n", "seed-wf"], env=env)
    jsonpath = "jsonpath={.items[0].metadata.name}"
    name = run(["kubectl", cache, "get", "workflows", "-n", "seed-wf", "-o", jsonpath], env=env).strip()
    run([*tiphys, "workflow", "get", name, "-n", "seed-wf", "--kubeconfig", kubeconfig], env=env)
    run([*tiphys, "workflow", "logs", name, "-n", "seed-wf", "--kubeconfig", kubeconfig], env=env)
    run(["kubectl", cache, "delete", "namespace", "seed-wf"], env=env)
    console.print("The failure variant: task-2 fails, so the PreSync hook fails and nothing else is applied:")
    failing = ["--dest-namespace", "seed-wf-fail", "--sync-option", "CreateNamespace=true"]
    run([*tiphys, "sync", str(examples / "seed-workflow-failure"), "--app", "seed-workflow-failure", *failing],
        env=env, expect=1)
    run(["kubectl", cache, "get", "configmaps,workflows", "-n", "seed-wf-fail"], env=env)
    run(["kubectl", cache, "delete", "namespace", "seed-wf-fail"], env=env)


def app_section(tiphys: list[str], cache: str, env: dict[str, str], examples: Path) -> None:
    """GitOps: an Application on a Git repository, synced by the controller with its hooks, then a new commit."""
    if not (examples / "seed").is_dir():
        return
    console.rule("[bold]Applications: the controller follows Git (examples/seed in a local Git repository)")
    with tempfile.TemporaryDirectory(prefix="tiphys-demo-repo-") as repo:
        git = ["git", "-C", repo, "-c", "user.name=demo", "-c", "user.email=demo@example.com"]
        shutil.copytree(examples / "seed", repo, dirs_exist_ok=True)
        run(["git", "init", "-q", "-b", "main", repo], env=env)
        run([*git, "add", "-A"], env=env)
        run([*git, "commit", "-q", "-m", "seed"], env=env)
        run([*tiphys, "app", "create", "seed-gitops", "--repo", repo, "--path", ".", "--revision", "main",
             "--dest-namespace", "seed-gitops", "--sync-option", "CreateNamespace=true",
             "--sync-policy", "automated", "--auto-prune", "--self-heal"], env=env)
        run([*tiphys, "app", "wait", "seed-gitops", "--sync", "--health", "--timeout", "180s"], env=env)
        run([*tiphys, "app", "get", "seed-gitops"], env=env)
        run([*tiphys, "app", "history", "seed-gitops"], env=env)
        run([*tiphys, "app", "delete", "seed-gitops", "--cascade"], env=env)


if __name__ == "__main__":
    main()
