"""TensorRT <= 10 only: implicit precision through builder flags, INT8 scales from our calibration cache.

TensorRT 11 removed these APIs (strongly typed networks only); JetPack 6 ships TensorRT 10.
"""

from __future__ import annotations

from pathlib import Path

PRECISION_FLAGS = {"fp32": (), "fp16": ("FP16",), "int8": ("FP16", "INT8")}
# cache header algorithm -> the calibrator class TensorRT accepts that cache from
CALIBRATORS = {"EntropyCalibration2": "IInt8EntropyCalibrator2", "MinMaxCalibration": "IInt8MinMaxCalibrator"}


def version_tag(version: str) -> int:
    """TensorRT's integer version (10.3.0.30 -> 100300), as calibration cache headers write it."""
    major, minor, patch = (int(part) for part in version.split(".")[:3])
    return major * 10000 + minor * 100 + patch


def retag(cache: bytes, version: str) -> tuple[bytes, str]:
    """The cache with its header naming this TensorRT (it rejects others; the scales do not depend on it),
    and the header's algorithm."""
    header, body = cache.split(b"\n", 1)
    algorithm = header.decode().split("-", 2)[2]
    return f"TRT-{version_tag(version)}-{algorithm}\n".encode() + body, algorithm


def cache_calibrator(trt, cache: bytes, algorithm: str):
    """A calibrator that hands TensorRT our scales and never asks for data."""

    class CacheCalibrator(getattr(trt, CALIBRATORS[algorithm])):
        def get_batch_size(self):
            return 1

        def get_batch(self, names):
            return None

        def read_calibration_cache(self):
            return cache

        def write_calibration_cache(self, cache):
            return None

    return CacheCalibrator()


def set_precision(trt, config, plan, folder: Path, profile) -> tuple[tuple[str, ...], object]:
    """Builder flags for the plan's precision; returns them and the calibrator (keep it alive while building)."""
    flags = PRECISION_FLAGS[plan.precision]
    for flag in flags:
        config.set_flag(getattr(trt.BuilderFlag, flag))
    calibrator = None
    if plan.precision == "int8":
        calibrator = cache_calibrator(trt, *retag((folder / plan.calibration_cache).read_bytes(), trt.__version__))
        config.int8_calibrator = calibrator
        if profile is not None:
            config.set_calibration_profile(profile)
    return flags, calibrator
