"""Grading many submissions at once with Dask distributed: local workers, or a cluster's.

Dask is the engine (no home-made scheduler): by default a LocalCluster with one worker process
per core, each running one submission at a time; with `scheduler="tcp://host:8786"` the same tasks
go to an existing Dask cluster (its workers need this repository and the prepared assets at the
same paths). Results come back to the calling process, which alone writes the gradebook.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable

from tqdm import tqdm

from grader.autograde import fork_server
from grader.autograde.grade_one import grade_submission
from grader.autograde.task import GradingTask
from grader.result import CRASHED, SubmissionResult


def default_workers() -> int:
    return len(os.sched_getaffinity(0))


def grade_all(
    tasks: list[GradingTask],
    on_result: Callable[[SubmissionResult], None],
    workers: int | None = None,
    scheduler: str | None = None,
    desc: str = "grading",
) -> None:
    """Grade `tasks` on Dask workers; call `on_result` in this process as each one finishes."""
    if not tasks:
        return
    from distributed import Client, LocalCluster, as_completed

    workers = workers or default_workers()
    if scheduler:
        client, cluster = Client(scheduler), None
    else:
        # A worker's heartbeat that races the scheduler's shutdown logs an error with a stack; a lost
        # worker is reported per student below, so the cluster's own logs stay quiet.
        # silence_logs quiets the cluster's own handlers, but its records still reach a root handler
        # that TFDS's absl logging installs when this process prepared the datasets.
        logging.getLogger("distributed").setLevel(logging.CRITICAL)
        # Ctrl-C reaches every process of the terminal's group: the workers start with SIGINT ignored
        # (kept across exec), so that only this process stops the run, the way stop_workers says.
        # (Only the main thread may set a signal's handler: from another thread the workers keep it.)
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
        try:
            # Workers that may have children of their own: each forks nbgrader from its server
            # (fork_server.py), which multiprocessing forbids a daemonic process.
            import dask

            dask.config.set({"distributed.worker.daemon": False})
            cluster = LocalCluster(n_workers=min(workers, len(tasks)), threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.CRITICAL)
        finally:
            if main:
                signal.signal(signal.SIGINT, previous)
        client = Client(cluster)
    try:
        client.run(fork_server.warm)
        futures = {client.submit(grade_submission, task, pure=False,
                                 key=f"grade-{task.assignment}-{task.student}-{os.urandom(4).hex()}"): task
                   for task in tasks}
        # tqdm's bar shows the rate and the estimated time left.
        with tqdm(total=len(tasks), desc=desc, unit="submission") as bar:
            for future in as_completed(futures):
                task = futures[future]
                try:
                    outcome = future.result()
                except Exception as error:  # a lost worker: report it for this student only
                    outcome = SubmissionResult(task.student, task.assignment, CRASHED,
                                               f"grading worker failed: {type(error).__name__}: {error}",
                                               notebook_name=task.notebook_name, sha256=task.sha256,
                                               grading=task.grading)
                on_result(outcome)
                bar.set_postfix_str(f"{outcome.student}: {outcome.status}")
                bar.update()
    except KeyboardInterrupt:
        # Stopped by the instructor: the graded ones are written (on_result); the workers end now, and with
        # them every nbgrader, kernel and box they started (grader.sandbox.processes.dies_with_this_worker).
        stop_workers(client, cluster, futures)
        raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def stop_workers(client, cluster, futures) -> None:
    """Cancel what is queued and end the worker processes at once, without their tracebacks."""
    import contextlib

    with contextlib.suppress(Exception):
        client.cancel(list(futures))
    if cluster is not None:
        for process in _worker_processes(cluster):
            with contextlib.suppress(ProcessLookupError):
                os.kill(process, signal.SIGKILL)


def _worker_processes(cluster) -> list[int]:
    """The process ids of a LocalCluster's nannies and workers."""
    pids = []
    for nanny in getattr(cluster, "workers", {}).values():
        process = getattr(getattr(nanny, "process", None), "process", None)
        pid = getattr(process, "pid", None)
        if pid:
            pids.append(pid)
    return pids

