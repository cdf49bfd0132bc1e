"""Tiphys benchmarks: ``make bench`` (``python -m bench``) runs every module of this package.

A benchmark module is any ``bench/<name>.py`` whose name does not start with ``_``. It defines
``TITLE`` (one line) and ``run(ctx: bench._common.Context) -> list[bench._common.Row]``; the
runner prints the rows as one table and writes them to ``bench/results/<timestamp>.json``.
Shared pieces live in private modules: ``_common`` (temporary clusters, timing, memory, rows),
``_load`` (the HTTP load generator: ``wrk``, else a multi-process Python client) and ``_bare``
(the do-nothing ASGI server every rate is compared with). A new module looks like::

    from ._common import Context, Row, log, running_cluster, stopwatch

    TITLE = "kubelet: pod start latency"

    def run(ctx: Context) -> list[Row]:
        with running_cluster(ctx.workdir / "home") as cluster, cluster.client() as client:
            log("starting a pod")
            with stopwatch() as sw:
                ...  # create a Pod with `client`, wait until it runs
        return [Row("kubelet", "pod start", sw.seconds * 1000, "ms")]
"""
