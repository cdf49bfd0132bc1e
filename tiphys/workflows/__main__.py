"""``python -m tiphys.workflows --kubeconfig F [--context C] [--mode auto|on|off]``: the controller alone.

Runs until SIGTERM or SIGINT, which stop it cleanly (exit 0). Exit 2 for a bad invocation or
kubeconfig, 1 when the cluster cannot be reached or refuses what the controller needs.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

import uvloop

from tiphys.kube import Kube, KubeConfigError, KubeError

from .controller import Mode, run_controller


async def _main(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    async with Kube.from_kubeconfig(args.kubeconfig, context=args.context, field_manager="workflow-controller") as kube:
        try:
            await run_controller(kube, mode=args.mode, workers=args.workers)
        except asyncio.CancelledError:
            logging.getLogger(__name__).info("workflow controller stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tiphys.workflows", description=__doc__)
    parser.add_argument("--kubeconfig", required=True, help="kubeconfig of the cluster to run Workflows in")
    parser.add_argument("--context", default=None, help="context of the kubeconfig (default: its current one)")
    parser.add_argument("--mode", choices=[m.value for m in Mode], default=Mode.AUTO.value)
    parser.add_argument("--workers", type=int, default=16, help="Workflows reconciled at once (default 16)")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        uvloop.run(_main(args))
    except KubeConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KubeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
