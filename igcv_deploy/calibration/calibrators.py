"""Activation range calibrators: |x| histogram in, symmetric int8 amax out (scale = amax / 127).

TensorRT-style: one histogram of |x| per tensor (2048 bins over [0, max|x|]), then minmax, percentile,
entropy (KL divergence, as TensorRT's EntropyCalibrator2 / pytorch-quantization) or MSE picks the clip.
onnxruntime's own HistogramCollector is not used: its entropy is the MXNet variant on signed histograms,
prints to stdout and loops in Python per threshold; these are vectorised over all thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

import numpy as np

BINS = 2048
QUANT_BINS = 128  # int8 magnitudes 0..127
START_BIN = 128  # never clip to fewer histogram bins than there are quantised levels


@dataclass
class Histogram:
    """Counts of |x| in BINS equal bins over [0, amax], plus whether any x was negative."""

    amax: float
    counts: np.ndarray = field(default_factory=lambda: np.zeros(BINS, np.int64))
    signed: bool = False

    @classmethod
    def of(cls, values: np.ndarray) -> Histogram:
        values = np.asarray(values, np.float64)
        histogram = cls(float(np.abs(values).max(initial=0.0)))
        histogram.add(values)
        return histogram

    def add(self, values: np.ndarray) -> None:
        magnitude = np.abs(values).ravel()
        self.signed |= bool((values < 0).any())
        if self.amax > 0:
            index = np.minimum((magnitude * (len(self.counts) / self.amax)).astype(np.int64), len(self.counts) - 1)
            self.counts += np.bincount(index, minlength=len(self.counts))
        else:
            self.counts[0] += magnitude.size

    @property
    def edges(self) -> np.ndarray:
        return np.linspace(0.0, self.amax, len(self.counts) + 1)


def minmax(histogram: Histogram) -> float:
    return histogram.amax


def percentile(histogram: Histogram, percent: float = 99.99) -> float:
    """The upper edge of the bin where the |x| distribution reaches `percent`."""
    cdf = np.cumsum(histogram.counts) / max(histogram.counts.sum(), 1)
    index = int(np.searchsorted(cdf, percent / 100.0))
    return float(histogram.edges[min(index + 1, len(histogram.counts))])


def entropy(histogram: Histogram) -> float:
    """The clip whose 128-level quantisation diverges least (KL) from the clipped distribution."""
    counts = histogram.counts.astype(np.float64)
    if histogram.amax == 0 or len(counts) < START_BIN:
        return histogram.amax
    counts[0] = counts[1]  # as TensorRT: the zero bin (ReLU zeros) would dominate the divergence
    kept = np.arange(START_BIN, len(counts) + 1)
    divergence = _kl_divergences(counts, kept)
    best = len(divergence) - 1 - int(np.argmin(divergence[::-1]))  # the widest of equal minima
    return float(histogram.edges[kept[best]])


def _kl_divergences(counts: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """KL(P || Q) for every candidate number of kept bins i (vectorised over i).

    P: counts[:i] with the clipped tail added to its last bin. Q: counts[:i] merged into 128 chunks, each
    chunk's mass spread evenly over its non-empty bins. Both normalised, as scipy.stats.entropy does.
    """
    total = counts.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        x_log_x = np.where(counts > 0, counts * np.log(counts), 0.0)
    cum = np.concatenate([[0.0], np.cumsum(counts)])
    cum_nonzero = np.concatenate([[0], np.cumsum(counts > 0)])
    cum_x_log_x = np.concatenate([[0.0], np.cumsum(x_log_x)])
    starts = -((-np.arange(QUANT_BINS + 1)[None, :] * kept[:, None]) // QUANT_BINS)  # ceil(j * i / 128)
    mass = np.diff(cum[starts], axis=1)
    nonzero = np.diff(cum_nonzero[starts], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = np.where(nonzero > 0, mass / nonzero, 0.0)
        chunk_terms = np.where(mass > 0, mass * np.log(spread), 0.0).sum(axis=1)
        inside = cum[kept]
        tail = total - inside
        shift = np.log(inside) - np.log(total)  # log(T - tail) - log T
        divergence = (cum_x_log_x[kept] - chunk_terms) / total + inside / total * shift
        last, q_last = counts[kept - 1], spread[:, -1]
        regular = np.where(last > 0, last * (np.log(last) - np.log(q_last)), 0.0)
        clipped = (last + tail) * (np.log(last + tail) - np.log(q_last)) + tail * shift
        divergence += np.where(tail > 0, (clipped - regular) / total, 0.0)
    return np.where((tail > 0) & (last == 0), np.inf, divergence)


def mse(histogram: Histogram, stride: int = 8) -> float:
    """The clip minimising the mean squared int8 fake-quantisation error of the bin centres."""
    if histogram.amax == 0:
        return 0.0
    edges = histogram.edges
    centers = (edges[1:] + edges[:-1]) / 2
    candidates = centers[START_BIN - 1 :: stride]
    scale = 127.0 / candidates[:, None]
    quantized = np.clip(np.round(centers[None, :] * scale), -127, 127) / scale
    errors = ((quantized - centers[None, :]) ** 2 * histogram.counts[None, :]).sum(axis=1)
    return float(candidates[int(np.argmin(errors))])


CALIBRATORS = {"minmax": minmax, "entropy": entropy, "percentile": percentile, "mse": mse}


def get_calibrator(method: str):
    """A calibrator by name; `percentile:99.9` sets the percentile."""
    from ..errors import UsageError

    name, _, argument = method.partition(":")
    if name not in CALIBRATORS or (argument and (name != "percentile" or not _is_percent(argument))):
        choices = f"choose auto, {', '.join(CALIBRATORS)} or percentile:P"
        raise UsageError(f"unknown calibration method '{method}'", choices)
    return partial(percentile, percent=float(argument)) if argument else CALIBRATORS[name]


def _is_percent(text: str) -> bool:
    try:
        return 0 < float(text) <= 100
    except ValueError:
        return False
