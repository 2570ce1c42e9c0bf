"""The timing loop's stopping rules and bookkeeping (no timing thresholds)."""

from __future__ import annotations

import gc

from igcv_deploy.profiling.timing import Plan, measure


class Counter:
    def __init__(self):
        self.calls = 0

    def __call__(self):
        self.calls += 1


def test_iterations_only():
    call = Counter()
    samples, warmup = measure(call, Plan(warmup_iters=3, warmup_s=0, iterations=7, duration_s=0))
    assert warmup["iterations"] == 3 and len(samples) == 7 and call.calls == 10
    assert (samples >= 0).all()


def test_duration_keeps_going_past_the_iteration_count():
    call = Counter()
    samples, warmup = measure(call, Plan(warmup_iters=0, warmup_s=0.02, iterations=1, duration_s=0.05))
    assert warmup["iterations"] >= 1 and len(samples) > 1
    assert call.calls == warmup["iterations"] + len(samples)


def test_gc_is_paused_while_timing_and_restored():
    seen = []
    measure(lambda: seen.append(gc.isenabled()), Plan(warmup_iters=1, warmup_s=0, iterations=3, duration_s=0))
    assert seen == [True, False, False, False]  # the warm-up call runs with gc on, timed calls with it off
    assert gc.isenabled()
