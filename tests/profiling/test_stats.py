"""Statistics on known data (numpy only)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from igcv_deploy.profiling.stats import UNSTABLE_CV, latency_summary, summarize


def test_percentiles_and_moments_of_1_to_100():
    s = latency_summary(np.arange(1, 101))
    assert s["p50"] == pytest.approx(50.5)
    assert s["p90"] == pytest.approx(90.1)
    assert s["p95"] == pytest.approx(95.05)
    assert s["p99"] == pytest.approx(99.01)
    assert s["mean"] == pytest.approx(50.5)
    assert s["std"] == pytest.approx(math.sqrt(101 * 100 / 12))  # sample std of 1..n: sqrt(n(n+1)/12)
    assert (s["min"], s["max"]) == (1.0, 100.0)


def test_order_does_not_matter():
    data = np.random.default_rng(1).exponential(3.0, 1000)
    assert latency_summary(data) == latency_summary(np.sort(data)[::-1])


def test_cv_throughput_and_stable_flag():
    result = summarize([9.0, 10.0, 11.0], batch=4)
    assert result["latency_ms"]["std"] == pytest.approx(1.0)
    assert result["cv"] == pytest.approx(0.1)
    assert result["unstable"] is False  # exactly at the threshold is still stable
    assert result["throughput_fps"] == pytest.approx(4 * 1000 / 10.0)


def test_unstable_above_threshold():
    assert UNSTABLE_CV == 0.10
    assert summarize([5.0, 10.0, 15.0])["unstable"] is True
    assert summarize([10.0] * 20) == {**summarize([10.0] * 20), "cv": 0.0, "unstable": False}


def test_single_sample_and_tail():
    assert latency_summary([7.0])["std"] == 0.0
    data = [1.0] * 99 + [100.0]
    s = latency_summary(data)
    assert s["p50"] == 1.0 and s["max"] == 100.0 and s["p99"] == pytest.approx(1.99)


@pytest.mark.parametrize("bad", [[], [[1.0, 2.0]]])
def test_rejects_empty_or_nested(bad):
    with pytest.raises(ValueError):
        latency_summary(bad)
