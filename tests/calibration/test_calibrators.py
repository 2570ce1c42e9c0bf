"""Each calibrator on distributions whose answer is known."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from igcv_deploy.calibration.calibrators import START_BIN, Histogram, entropy, get_calibrator, minmax, mse, percentile
from igcv_deploy.errors import UsageError


def test_minmax_is_the_largest_magnitude():
    values = np.array([-3.5, 0.25, 2.0, 1e-3])
    histogram = Histogram.of(values)
    assert minmax(histogram) == 3.5
    assert histogram.signed and not Histogram.of(np.abs(values)).signed
    assert histogram.counts.sum() == 4


def test_percentile_cuts_a_known_outlier():
    values = np.concatenate([np.random.default_rng(0).uniform(-1, 1, 100_000), [10.0]])
    assert 0.99 <= percentile(Histogram.of(values)) <= 1.01
    assert percentile(Histogram.of(values), percent=100) == pytest.approx(10.0)
    assert 0.89 <= get_calibrator("percentile:90")(Histogram.of(values)) <= 0.91


@pytest.mark.parametrize("method", [entropy, mse])
def test_heavy_tails_are_clipped_below_the_max(method):
    histogram = Histogram.of(np.random.default_rng(0).standard_t(3, 200_000))
    assert 2.0 < method(histogram) < 0.8 * histogram.amax


@pytest.mark.parametrize("method", [entropy, mse, percentile])
def test_a_bounded_distribution_keeps_most_of_its_range(method):
    histogram = Histogram.of(np.random.default_rng(0).uniform(-2, 2, 200_000))
    assert 1.6 < method(histogram) <= 2.0 + 1e-9


def test_all_zero_tensor():
    histogram = Histogram.of(np.zeros(100))
    assert [f(histogram) for f in (minmax, entropy, mse)] == [0.0, 0.0, 0.0]


def reference_entropy(counts: np.ndarray, edges: np.ndarray) -> float:
    """pytorch-quantization's _compute_amax_entropy (TensorRT's EntropyCalibrator2), loop by loop."""
    from scipy.stats import entropy as kl

    bins = counts.astype(np.float64)
    bins[0] = bins[1]
    divergences = []
    for i in range(START_BIN, len(bins) + 1):
        digitized = np.digitize(range(i), np.linspace(0, i, num=129)) - 1
        digitized[bins[:i] == 0] = -1
        merged = np.zeros(128)
        for index, chunk in enumerate(digitized):
            if chunk != -1:
                merged[chunk] += bins[index]
        for chunk, size in Counter(digitized).items():
            if chunk != -1:
                merged[chunk] /= size
        candidate = np.array([merged[c] if c != -1 else 0.0 for c in digitized])
        reference = bins[:i].copy()
        reference[-1] += bins[i:].sum()
        divergences.append(kl(reference, candidate))
    divergences = np.array(divergences)
    return edges[len(divergences) - 1 - np.argmin(divergences[::-1]) + START_BIN]


@pytest.mark.parametrize(
    "values",
    [np.random.default_rng(0).standard_t(3, 50_000), np.maximum(np.random.default_rng(0).laplace(size=50_000), 0)],
)
def test_entropy_matches_the_tensorrt_reference(values):
    histogram = Histogram.of(values)
    histogram.counts = np.bincount(np.minimum((np.abs(values) * 256 / histogram.amax).astype(int), 255), minlength=256)
    assert entropy(histogram) == pytest.approx(reference_entropy(histogram.counts, histogram.edges))


@pytest.mark.parametrize("name", ["kl", "percentile:abc", "percentile:0", "minmax:3"])
def test_unknown_method_is_a_usage_error(name):
    with pytest.raises(UsageError, match="unknown calibration method"):
        get_calibrator(name)
