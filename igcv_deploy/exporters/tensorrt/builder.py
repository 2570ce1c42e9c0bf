"""One ONNX -> engine build for TensorRT 10, TensorRT 11 and TensorRT-RTX.

The engine is written raw (plain `trtexec --loadEngine` reads it); what it was built from and how
goes into the manifest's `engine` section. Engines are not byte-deterministic: never compare bytes.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ...errors import IGCVError
from . import rtx, trt10
from .compat import ParsedNetwork
from .inspection import inspect_engine
from .library import Library

ENGINE, TIMING_CACHE = "model.engine", "timing.cache"
DEFAULT_MAX_BATCH = 32


@dataclass
class BuildPlan:
    """Everything a build needs, relative to the bundle; stored in the manifest so a device can rebuild."""

    precision: str
    onnx: str  # the strongly typed source: FP32, FP16-cast or Q/DQ ONNX
    input_name: str
    input_shape: list  # [batch, C, H, W]; batch is the static batch or the profile's opt batch
    max_batch: int | None = None  # set for a dynamic batch: the profile is 1..opt..max
    implicit_onnx: str | None = None  # TensorRT <= 10 INT8: the FP32 ONNX built with flags + calibration cache
    calibration_cache: str | None = None
    timing_cache: str | None = None
    compute_capabilities: list[str] = field(default_factory=list)  # TensorRT-RTX targets; [] = its default

    def source(self, library: Library) -> str:
        return self.implicit_onnx if self.implicit_onnx and not library.strongly_typed else self.onnx

    def profile_shapes(self) -> dict | None:
        if self.max_batch is None:
            return None
        opt, *chw = self.input_shape
        return {"min": [1, *chw], "opt": [opt, *chw], "max": [self.max_batch, *chw]}


def build(library: Library, plan: BuildPlan, folder: Path) -> dict:
    """Build `model.engine` in the bundle folder from the plan; returns the manifest's `engine` section."""
    source = plan.source(library)
    parsed = ParsedNetwork(library, folder / source)
    config = parsed.builder.create_builder_config()
    config.profiling_verbosity = library.trt.ProfilingVerbosity.DETAILED
    if plan.precision == "fp32":  # TF32 is on by default: FP32 means FP32
        config.clear_flag(library.trt.BuilderFlag.TF32)
    profile = _add_profile(parsed.builder, config, plan)
    details, calibrator = _configure(library, config, plan, folder, profile)  # referenced until the build ends
    library.logger.errors.clear()
    start = time.perf_counter()
    serialized = parsed.builder.build_serialized_network(parsed.network, config)
    seconds = time.perf_counter() - start
    if serialized is None:
        raise IGCVError(
            f"{library.label} could not build the engine: {library.logger.last_error()}", _build_hint(library)
        )
    (folder / ENGINE).write_bytes(serialized)
    if not library.rtx:
        (folder / TIMING_CACHE).write_bytes(config.get_timing_cache().serialize())
        plan.timing_cache = TIMING_CACHE
    return {
        "status": "built",
        "file": ENGINE,
        "library": library.name,
        "version": library.version,
        "source": source,
        **details,
        "profile": plan.profile_shapes(),
        "build_seconds": round(seconds, 2),
        "size_bytes": serialized.nbytes,
        "inspection": inspect_engine(library, serialized, parsed.network, folder),
        "plan": asdict(plan),
    }


def _add_profile(builder, config, plan: BuildPlan):
    shapes = plan.profile_shapes()
    if shapes is None:
        return None
    profile = builder.create_optimization_profile()
    profile.set_shape(plan.input_name, shapes["min"], shapes["opt"], shapes["max"])
    config.add_optimization_profile(profile)
    return profile


def _configure(library: Library, config, plan: BuildPlan, folder: Path, profile) -> tuple[dict, object]:
    """The version-specific part: RTX target GPUs, or TensorRT's timing cache and (<= 10) precision flags."""
    trt = library.trt
    if library.rtx:
        return {
            "mode": "strongly typed",
            "compute_capabilities": rtx.set_compute_capabilities(trt, config, plan.compute_capabilities),
        }, None
    cache = (folder / plan.timing_cache).read_bytes() if plan.timing_cache else b""
    config.set_timing_cache(config.create_timing_cache(cache), False)
    if library.strongly_typed:
        return {"mode": "strongly typed"}, None
    flags, calibrator = trt10.set_precision(trt, config, plan, folder, profile)
    return {"mode": "builder flags", "flags": list(flags)}, calibrator


def _build_hint(library: Library) -> str:
    message = library.logger.last_error("")
    if "Turing" in message or "SM75" in message:
        return "Turing (7.5) has no FP32 GEMM kernels in TensorRT-RTX: use --precision fp16 or drop 7.5"
    return "the message is TensorRT's own; try another --precision, or report it with the model name"
