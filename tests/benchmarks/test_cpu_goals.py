"""benchmarks/cpu_goals.py judges a goal only when the paired ratios' interquartile range is on one side of it."""

from __future__ import annotations

import cpu_goals
import pytest


@pytest.mark.parametrize(
    "x_over_default, iqr, expected",
    [
        (1 / 1.01, (1 / 1.02, 1 / 1.00), "met"),  # default / X = 1.01, IQR 1.00-1.02: under 1.03
        (1 / 1.10, (1 / 1.12, 1 / 1.08), "NOT met"),
        (1 / 1.01, (1 / 1.09, 1 / 0.95), "not decided"),  # a busy machine's spread straddles the goal
    ],
)
def test_verdict_reads_the_interquartile_range(x_over_default, iqr, expected):
    verdict = cpu_goals.verdict({"ratio": x_over_default, "iqr": list(iqr)}, cpu_goals.GOAL_TUNED)
    assert verdict.startswith(expected)
