"""Cases on a Dask cluster (``y90 cohort --workers N | --scheduler ADDRESS``): one task per case.

A local cluster listens on 127.0.0.1 only and has N worker processes of one thread each (the
voxel dosimetry is numpy / scipy code that holds the GIL for long stretches; one case per process
keeps cases apart) and a memory
limit per worker: the machine's memory shared by the workers, unless given. Dask's nanny restarts
a worker that passes 95 % of its limit (``distributed.worker.memory.terminate``), so the cohort
sends a case only when its estimate fits (:func:`dosimetry.workflow.cohort.estimate_memory`), and a
case whose worker is lost anyway is not tried again (``allowed-failures`` 0 on a local cluster):
it becomes its own FAILED row. Task keys are ``y90-case-<name>-<run token>``: keyed by case, and
unique per run, so that two cohorts on one shared scheduler never share a result.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable

from ..errors import InputError

__all__ = ["run_on_dask", "worker_memory_limit", "default_workers"]

#: Seconds to wait for a scheduler to answer, and for its first worker to join.
CONNECT_TIMEOUT = 20


def default_workers() -> int:
    """The cores this process may use (its CPU affinity where the system has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _client(workers: int | None, scheduler: str | None, memory_limit: int | None, processes: bool):
    """A Dask client of a new local cluster (closed with the client) or of the scheduler at ``scheduler``."""
    import dask
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=f"{CONNECT_TIMEOUT}s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError("--scheduler", f"cannot reach a Dask scheduler at {scheduler!r}: {exc}") from exc
        try:
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
        except TimeoutError as exc:
            client.close()
            raise InputError("--scheduler", f"the Dask scheduler at {scheduler!r} has no worker (none joined within {CONNECT_TIMEOUT} s)") from exc
        return client, None
    n = workers or default_workers()
    # As the CLI does, worker processes do not print library warnings (pydicom on odd headers): the
    # readers check every value they use and return their own notes, which go into each case's report.
    quiet = {"env": {"PYTHONWARNINGS": "ignore"}} if processes else {}
    # A local cluster stays on this machine (its task keys name the cases); threads talk in-process.
    local = {"host": "127.0.0.1"} if processes else {}
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=processes,
            memory_limit=memory_limit if memory_limit is not None else "auto",
            dashboard_address="127.0.0.1:0",  # (None still serves one on :8787 of every interface)
            silence_logs=logging.ERROR,
            **quiet,
            **local,
        )
    return Client(cluster), cluster


def worker_memory_limit(client) -> int | None:
    """The smallest memory limit of the client's workers [bytes] (None if none has one)."""
    limits = [w.get("memory_limit") or 0 for w in client.scheduler_info()["workers"].values()]
    limits = [m for m in limits if m > 0]
    return min(limits) if limits else None


def run_on_dask(
    make_tasks: Callable[[int | None], list],
    fn: Callable,
    *,
    keys: list[str],
    workers: int | None = None,
    scheduler: str | None = None,
    memory_limit: int | None = None,
    processes: bool = True,
    on_result: Callable = lambda r: r,
    on_lost: Callable,
) -> list:
    """Run ``fn(task)`` for every task on a cluster; the results in the order of the tasks.

    Parameters
    ----------
    make_tasks : callable
        ``make_tasks(worker_memory_limit)`` -> the tasks (once the cluster's limit is known).
    keys : list of str
        A name per task (the case), for its Dask key.
    on_result : callable
        Called with each result as it arrives (progress).
    on_lost : callable
        ``on_lost(task, exception)`` -> the result of a task whose worker died or whose result was lost.
    """
    from distributed import as_completed

    client, cluster = _client(workers, scheduler, memory_limit, processes)
    futures = []
    try:
        tasks = make_tasks(worker_memory_limit(client))
        token = uuid.uuid4().hex[:8]
        futures = [client.submit(fn, t, key=f"y90-case-{k}-{token}", pure=False) for t, k in zip(tasks, keys)]
        index = {f.key: i for i, f in enumerate(futures)}
        results = [None] * len(tasks)
        for fut in as_completed(futures):
            i = index[fut.key]
            try:
                results[i] = fut.result()
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:  # noqa: BLE001 - KilledWorker, cancelled, a lost connection: the case's own row
                results[i] = on_lost(tasks[i], exc)
            on_result(results[i])
            fut.release()
        return results
    finally:
        if futures:
            client.cancel(futures)
        client.close()
        if cluster is not None:
            cluster.close()
