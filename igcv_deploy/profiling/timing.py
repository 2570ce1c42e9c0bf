"""The timing loop: warm-up, then back-to-back synchronous calls timed one by one.

Only the call itself is inside the timed region: inputs are bound before the loop and nothing
is converted or copied around it. The garbage collector is paused while timing so a collection
never lands inside a sample. Warm-up and measurement both stop when their iteration count AND
their duration are reached (like trtexec's --iterations/--duration).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

PROGRESS_AFTER_S = 2.0  # show a progress bar only for runs expected to take longer


@dataclass(frozen=True)
class Plan:
    warmup_iters: int = 10
    warmup_s: float = 1.0
    iterations: int = 50
    duration_s: float = 3.0

    def as_dict(self) -> dict:
        return asdict(self)


def _loop(call: Callable[[], object], iterations: int, seconds: float, tick: Callable[[float], None]) -> list[int]:
    samples: list[int] = []
    clock = time.perf_counter_ns
    deadline = clock() + int(seconds * 1e9)
    while len(samples) < iterations or clock() < deadline:
        start = clock()
        call()
        samples.append(clock() - start)
        tick(samples[-1] / 1e9)
    return samples


def measure(call: Callable[[], object], plan: Plan, progress: str | None = None) -> tuple[np.ndarray, dict]:
    """Run the warm-up then the timed loop; returns (latencies in ms, warm-up record)."""
    warm = _loop(call, plan.warmup_iters, plan.warmup_s, lambda _: None)
    warm_record = {"iterations": len(warm), "seconds": sum(warm) / 1e9}
    expected = max(plan.duration_s, plan.iterations * float(np.median(warm) if warm else 0) / 1e9)
    enabled = gc.isenabled()
    gc.disable()
    try:
        with _Progress(progress if expected > PROGRESS_AFTER_S else None, expected) as tick:
            samples = _loop(call, plan.iterations, plan.duration_s, tick)
    finally:
        if enabled:
            gc.enable()
    return np.asarray(samples, dtype=np.float64) / 1e6, warm_record


class _Progress:
    """A transient rich progress bar in seconds, refreshed at most ten times a second."""

    def __init__(self, label: str | None, total_s: float):
        self.label, self.total, self.done, self.shown = label, total_s, 0.0, 0.0
        self.bar = None

    def __enter__(self) -> Callable[[float], None]:
        if self.label:
            from rich.progress import Progress

            self.bar = Progress(transient=True)
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=self.total)
        return self.tick

    def tick(self, seconds: float) -> None:
        self.done += seconds
        if self.bar is not None and self.done - self.shown > 0.1:
            self.bar.update(self.task, completed=min(self.done, self.total))
            self.shown = self.done

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()
