"""``tiphys cluster add|list|rm``: destination clusters, stored as Argo CD cluster Secrets in the home cluster.

``add NAME --kubeconfig F [--context C]`` reads the context's server, CA and credentials (a bearer
token or a client certificate; exec plugins and auth providers are refused, since the controller
could not run them) and writes Secret ``cluster-NAME`` in namespace ``tiphys``, labelled
``argocd.argoproj.io/secret-type: cluster``, with data ``name``, ``server`` and ``config`` as
``argocd cluster add`` writes them. The cluster is reached once before anything is stored. Tokens
and keys are never printed. The home cluster (where the Applications live) is the embedded one
by default; ``add`` names another with ``--home-kubeconfig``/``--home-context`` (its
``--kubeconfig`` is the cluster being added), ``list`` and ``rm`` with ``--kubeconfig``/``--context``
as every ``tiphys app`` command does.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Final

import typer
from rich.table import Table
from rich.text import Text

from tiphys.controller.application import APP_NAMESPACE, DEFAULT_SERVER, ensure_crd
from tiphys.controller.clusters import IN_CLUSTER, SECRET_TYPE_LABEL, DestinationError, cluster_config
from tiphys.kube import AlreadyExists, Kube, KubeConfigError, KubeError, NotFound, load_config

from .app_common import check_output, console, fail, print_data, run
from .app_spec import Refused, SpecError

__all__ = ["Credentials", "cluster_app", "cluster_secret", "destination_kube", "find_cluster", "read_kubeconfig"]

_NAME: Final = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$")

cluster_app = typer.Typer(name="cluster", help="Destination clusters (Argo CD cluster Secrets).", no_args_is_help=True)

HomeKubeconfig = Annotated[
    Path | None, typer.Option("--home-kubeconfig", help="Where the Applications live (default: the embedded cluster).")
]
HomeContext = Annotated[str | None, typer.Option("--home-context", help="Context of --home-kubeconfig.")]
# list and rm name no other cluster, so --kubeconfig names the home cluster there, as for `tiphys app`.
ListKubeconfig = Annotated[
    Path | None,
    typer.Option("--kubeconfig", "--home-kubeconfig", help="Where the Applications live (default: embedded)."),
]
ListContext = Annotated[str | None, typer.Option("--context", "--home-context", help="Context of the kubeconfig.")]


@dataclass(frozen=True)
class Credentials:
    """How to reach one cluster; ``repr`` shows the server only."""

    server: str
    ca_data: str = field(default="", repr=False)  # base64 of the PEM, as Argo CD stores caData
    cert_data: str = field(default="", repr=False)
    key_data: str = field(default="", repr=False)
    token: str = field(default="", repr=False)
    insecure: bool = False

    def config(self) -> dict[str, Any]:
        """Argo CD's ``ClusterConfig`` JSON."""
        tls: dict[str, Any] = {"insecure": self.insecure}
        for key, value in (("caData", self.ca_data), ("certData", self.cert_data), ("keyData", self.key_data)):
            if value:
                tls[key] = value
        data: dict[str, Any] = {"tlsClientConfig": tls}
        if self.token:
            data["bearerToken"] = self.token
        return data


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _file_b64(path: str, base: Path, what: str) -> str:
    target = Path(path).expanduser()
    target = target if target.is_absolute() else base / target
    try:
        return base64.b64encode(target.read_bytes()).decode()
    except OSError as e:
        raise SpecError(f"{what} {target} cannot be read: {e.strerror}") from None


def read_kubeconfig(path: Path, context: str | None) -> Credentials:
    """The server and credentials of one kubeconfig context (files referenced are read inline)."""
    try:
        config = load_config(path, context=context)
    except KubeConfigError as e:
        raise SpecError(str(e)) from e
    chosen = config.contexts[str(config.current_context)]
    cluster, user = config.clusters[chosen.cluster], config.users[str(chosen.user)]
    base = path.expanduser().resolve().parent
    if user.exec is not None or user.auth_provider:
        raise SpecError(
            f"context {config.current_context!r} authenticates with an exec plugin or auth provider, which the "
            "controller cannot run: use a kubeconfig with a bearer token or a client certificate"
        )
    token = user.token or ""
    if not token and user.token_file:
        try:
            token = (base / Path(user.token_file).expanduser()).read_text().strip()
        except OSError as e:
            raise SpecError(f"tokenFile {user.token_file} cannot be read: {e.strerror}") from None
    cert = user.client_cert_data or (
        _file_b64(user.client_cert, base, "client-certificate") if user.client_cert else ""
    )
    key = user.client_key_data or (_file_b64(user.client_key, base, "client-key") if user.client_key else "")
    if not token and not (cert and key):
        raise SpecError(f"context {config.current_context!r} has no bearer token and no client certificate and key")
    ca = cluster.certificate_auth_data or (
        _file_b64(cluster.certificate_auth, base, "certificate-authority") if cluster.certificate_auth else ""
    )
    for value, what in ((ca, "certificate-authority-data"), (cert, "client-certificate-data")):
        try:
            base64.b64decode(value, validate=True)
        except binascii.Error:
            raise SpecError(f"{what} of context {config.current_context!r} is not base64") from None
    return Credentials(cluster.server, ca, cert, key, token, bool(cluster.insecure))


def secret_name(name: str) -> str:
    return f"cluster-{name}"


def cluster_secret(name: str, credentials: Credentials) -> dict[str, Any]:
    """The Argo CD cluster Secret for ``name``."""
    data = {"name": name, "server": credentials.server, "config": json.dumps(credentials.config())}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": secret_name(name),
            "namespace": APP_NAMESPACE,
            "labels": {SECRET_TYPE_LABEL: "cluster"},
            "annotations": {"managed-by": "argocd.argoproj.io"},
        },
        "data": {k: _b64(v) for k, v in data.items()},
    }


def _decoded(secret: Mapping[str, Any], key: str) -> str:
    try:
        return base64.b64decode(str((secret.get("data") or {}).get(key, "")), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ""


async def _cluster_secrets(home: Kube) -> list[dict[str, Any]]:
    try:
        found = await home.list("v1", "Secret", namespace=APP_NAMESPACE, labels={SECRET_TYPE_LABEL: "cluster"})
    except NotFound:
        return []
    return found.items


async def find_cluster(home: Kube, *, name: str = "", server: str = "") -> dict[str, Any] | None:
    """The cluster Secret whose ``name`` (or ``server``) matches."""
    for secret in await _cluster_secrets(home):
        if (name and _decoded(secret, "name") == name) or (
            server and _decoded(secret, "server").rstrip("/") == server.rstrip("/")
        ):
            return secret
    return None


async def destination_kube(home: Kube, destination: Mapping[str, Any]) -> tuple[Kube, bool]:
    """A client for an Application's destination and whether it is a new one (to close); ``home`` for in-cluster."""
    server = str(destination.get("server") or "").rstrip("/")
    name = str(destination.get("name") or "")
    secret = await find_cluster(home, name=name) if name else None
    if secret is None and (server == DEFAULT_SERVER or name == IN_CLUSTER or (not server and not name)):
        return home, False
    if secret is None and server:
        secret = await find_cluster(home, server=server)
    if secret is None:
        raise Refused(f"destination cluster {name or server!r} has not been configured (`tiphys cluster add`)")
    label = _decoded(secret, "name")
    try:
        config = json.loads(_decoded(secret, "config") or "{}")
        kube = Kube(cluster_config(label, _decoded(secret, "server"), config))
    except (ValueError, DestinationError) as e:
        raise Refused(f"cluster {label!r}: its Secret cannot be used: {e}") from None
    return kube, True


@cluster_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The cluster's name (what spec.destination.name refers to).")],
    kubeconfig: Annotated[Path, typer.Option("--kubeconfig", help="A kubeconfig that reaches the cluster.")],
    context: Annotated[str | None, typer.Option("--context", help="Context of the kubeconfig.")] = None,
    upsert: Annotated[bool, typer.Option("--upsert", help="Replace a cluster of that name.")] = False,
    skip_check: Annotated[bool, typer.Option("--skip-check", help="Store it without reaching it first.")] = False,
    home_kubeconfig: HomeKubeconfig = None,
    home_context: HomeContext = None,
) -> None:
    """Register a destination cluster from a kubeconfig context (stored as an Argo CD cluster Secret)."""
    if not _NAME.match(name):
        raise fail(f"cluster name {name!r} is invalid: lowercase letters, digits, '-' and '.'")
    if name == IN_CLUSTER:
        raise fail(f"{IN_CLUSTER!r} is the home cluster's name: choose another")
    try:
        credentials = read_kubeconfig(kubeconfig, context)
    except SpecError as e:
        raise fail(str(e)) from e
    secret = cluster_secret(name, credentials)

    async def body(home: Kube) -> None:
        if not skip_check:
            async with Kube(cluster_config(name, credentials.server, credentials.config())) as target:
                try:
                    await target.resource("v1", "Namespace")
                except KubeError as e:
                    raise Refused(f"cluster {name!r} at {credentials.server} cannot be reached: {e}") from None
        await ensure_crd(home)  # also creates namespace tiphys
        same_server = await find_cluster(home, server=credentials.server)
        if same_server is not None and _decoded(same_server, "name") != name and not upsert:
            other = _decoded(same_server, "name")
            raise Refused(f"server {credentials.server} is already registered as cluster {other!r}")
        try:
            await home.create(secret)
            console.print(f"cluster {name!r} added ({credentials.server})", highlight=False)
        except AlreadyExists:
            if not upsert:
                raise Refused(f"cluster {name!r} already exists: --upsert replaces it") from None
            await home.replace(secret)
            console.print(f"cluster {name!r} updated ({credentials.server})", highlight=False)

    run(home_kubeconfig, home_context, body)


@cluster_app.command("list")
def list_clusters(
    output: Annotated[str, typer.Option("-o", "--output", help="text, json or yaml")] = "text",
    home_kubeconfig: ListKubeconfig = None,
    home_context: ListContext = None,
) -> None:
    """List the clusters Applications can deploy to (never their credentials)."""
    check_output(output, ("text", "wide", "json", "yaml"))

    async def body(home: Kube) -> list[dict[str, str]]:
        rows = [{"name": IN_CLUSTER, "server": DEFAULT_SERVER, "secret": ""}]
        for secret in await _cluster_secrets(home):
            name = _decoded(secret, "name")
            rows.append({"name": name, "server": _decoded(secret, "server"), "secret": secret["metadata"]["name"]})
        return rows

    rows = run(home_kubeconfig, home_context, body)
    if output in ("json", "yaml"):
        print_data(rows, output)
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("NAME", "SERVER", "SECRET"):
        table.add_column(column)
    for row in rows:
        table.add_row(Text(row["name"]), Text(row["server"]), Text(row["secret"]))
    console.print(table)


@cluster_app.command("rm")
def remove(
    name: Annotated[str, typer.Argument(help="The cluster's name or server URL.")],
    home_kubeconfig: ListKubeconfig = None,
    home_context: ListContext = None,
) -> None:
    """Remove a registered cluster; Applications that name it show a condition until it comes back."""
    if name in (IN_CLUSTER, DEFAULT_SERVER):
        raise fail("the home cluster (in-cluster) cannot be removed")

    async def body(home: Kube) -> None:
        secret = await find_cluster(home, name=name) or await find_cluster(home, server=name)
        if secret is None:
            raise Refused(f"cluster {name!r} not found")
        with contextlib.suppress(NotFound):
            await home.delete("v1", "Secret", secret["metadata"]["name"], namespace=APP_NAMESPACE)
        console.print(f"cluster {_decoded(secret, 'name')!r} removed", highlight=False)

    run(home_kubeconfig, home_context, body)


def register(app: typer.Typer) -> None:
    app.add_typer(cluster_app, name="cluster")
