"""``python -m bench [MODULE ...]``: run the benchmark modules, print one table, save JSON.

Every public module of the ``bench`` package runs (or only those named), each with a fresh
temporary directory. The report goes to stdout and to ``bench/results/<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson

from . import _load
from ._common import REPO, Context, Row, render

RESULTS = Path(__file__).resolve().parent / "results"


def _modules(names: list[str]) -> list[ModuleType]:
    package = Path(__file__).resolve().parent
    available = sorted(m.name for m in pkgutil.iter_modules([str(package)]) if not m.name.startswith("_"))
    unknown = sorted(set(names) - set(available))
    if unknown:
        raise SystemExit(f"unknown benchmark module(s): {', '.join(unknown)}; available: {', '.join(available)}")
    return [importlib.import_module(f"bench.{name}") for name in (names or available)]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _revision() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
        return done.stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("modules", nargs="*", help="benchmark modules to run (default: all)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections (default 8)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per throughput measurement (default 5)")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of warm-up load before each (default 1)")
    parser.add_argument(
        "--pairs",
        "--repeat",
        dest="repeat",
        type=int,
        default=5,
        help="runs per rate and server, in alternating Tiphys/bare pairs; medians reported (default 5)",
    )
    parser.add_argument("--load", choices=("auto", "wrk", "python"), default="auto", help="load generator")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.connections < 1 or args.duration <= 0 or args.warmup < 0:
        parser.error("--pairs and --connections must be at least 1, --duration above 0, --warmup not negative")

    modules = _modules(args.modules)
    load = _load.choose(args.load)
    started = datetime.now(UTC)
    load_average = os.getloadavg()[0]
    meta: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "revision": _revision(),
        "host": {"cpus": os.cpu_count(), "cpu": _cpu_model(), "python": platform.python_version()},
        "load_generator": load.name,
        "connections": args.connections,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "repeat": args.repeat,
        "load_average_1m_at_start": load_average,
    }
    title = (
        f"Tiphys benchmarks, {meta['started']}, revision {meta['revision']}, {os.cpu_count()} CPUs ({_cpu_model()})\n"
        f"load generator: {load.name}, {args.connections} connections; each rate is the median of "
        f"{args.repeat} runs of {args.duration:g} s after {args.warmup:g} s of warm-up, run in pairs alternating "
        "with the bare server's; its ratio to bare is the median of the per-pair ratios"
    )
    if load_average > 0.5:
        title += (
            f"\nWARNING: the 1-minute load average was {load_average:.2f} at the start: other processes compete "
            "for the CPUs, and the figures are noisier than usual"
        )
    print(title, flush=True)
    rows: list[Row] = []
    failures: dict[str, str] = {}
    timings: dict[str, float] = {}
    for module in modules:
        name = module.__name__.removeprefix("bench.")
        print(f"running {name}: {getattr(module, 'TITLE', '')}", flush=True)
        began = time.monotonic()
        with tempfile.TemporaryDirectory(prefix=f"tiphys-bench-{name}-") as workdir:
            ctx = Context(
                load=load,
                connections=args.connections,
                duration=args.duration,
                warmup=args.warmup,
                repeat=args.repeat,
                workdir=Path(workdir),
            )
            try:
                rows += module.run(ctx)
            except Exception:
                failures[name] = traceback.format_exc()
                print(f"{name} FAILED:\n{failures[name]}", file=sys.stderr, flush=True)
        timings[name] = round(time.monotonic() - began, 1)
        print(f"  {name} took {timings[name]:.0f} s", flush=True)

    print()
    print(render(rows, title=title))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    report = {**meta, "module_seconds": timings, "rows": [r.as_json() for r in rows], "failures": failures}
    out.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    print(f"\nresults: {out.relative_to(REPO)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
