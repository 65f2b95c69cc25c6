"""Timing helpers shared by the benchmark scripts (run as ``python benchmarks/bench_*.py``).

* :func:`timed`: the best of ``repeat`` runs (other load on a shared machine only adds time,
  so the minimum is the least disturbed measurement) and the last answer;
* :func:`timed_in_child`: one run in a forked child process with a time budget, for slow peers
  (networkx) that must not hold the whole benchmark up; the time is taken inside the child.
"""

from __future__ import annotations

import multiprocessing as mp
import queue as queue_module
import sys
import time
from collections.abc import Callable
from typing import Any


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Best wall time of ``repeat`` calls of ``fn`` and the last call's answer."""
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def _child(results: Any, fn: Callable[[], Any]) -> None:
    start = time.perf_counter()
    out = fn()
    results.put((time.perf_counter() - start, out))


def timed_in_child(fn: Callable[[], Any], budget: float) -> tuple[float, Any] | None:
    """``(seconds, answer)`` of one call of ``fn`` in a child process, or None over ``budget``.

    The child is forked where the platform allows, so ``fn`` may be a closure over large
    instances without pickling them.
    """
    ctx = mp.get_context("fork") if sys.platform != "win32" else mp.get_context()
    results = ctx.Queue()
    child = ctx.Process(target=_child, args=(results, fn))
    child.start()
    try:
        answer: tuple[float, Any] = results.get(timeout=budget)
    except queue_module.Empty:
        child.terminate()
        child.join()
        return None
    child.join()
    return answer
