"""The profile command's engine: configurations -> runner -> timed runs -> one result document."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np

from .. import __version__
from ..errors import UsageError
from ..runtimes import Runner, load_runner
from .artifact import Artifact
from .environment import environment, load_average
from .stats import UNSTABLE_CV, summarize
from .timing import Plan, measure

SCHEMA = "igcv-profile/1"
SEED = 0


@dataclass(frozen=True)
class Request:
    artifact: Artifact
    runtime: str
    options: dict  # the runtime's keyword options (OpenVINO's: OpenVINOOptions), recorded as asked
    plan: Plan
    batches: tuple[int | None, ...] = (None,)  # None: the model's own batch (1 when dynamic)
    threads: tuple[int | None, ...] = (None,)
    per_layer: bool = False
    layer_runs: int = 20
    progress: bool = False


def input_batch(runner: Runner, batch: int | None) -> np.ndarray:
    """Random NCHW inputs for this batch size; refuses a batch a static-batch model cannot take."""
    shape = runner.input_shape()
    batch = batch or shape[0] or 1
    if any(dim is None for dim in shape[1:]):
        raise UsageError(f"the model input {shape} has dynamic non-batch dimensions", "export it with a fixed --imgsz")
    if shape[0] is not None and shape[0] != batch:
        raise UsageError(
            f"the model has a static batch of {shape[0]}, cannot run batch {batch}",
            f"re-export with --dynamic-batch (or igcv-export --batch {batch})",
        )
    return np.random.default_rng(SEED).standard_normal((batch, *shape[1:]), dtype=np.float32)


def timed_run(runner: Runner, batch: int | None, threads: int | None, request: Request) -> dict:
    inputs = input_batch(runner, batch)
    batch = len(inputs)
    call = runner.bind(inputs)
    load_before = load_average()
    label = f"{runner.name} batch {batch}" + (f" threads {threads}" if threads else "")
    samples, warmup = measure(call, request.plan, label if request.progress else None)
    return {
        "batch": batch,
        "threads": threads,
        "input_shape": list(inputs.shape),
        "iterations": int(samples.size),
        "warmup": warmup,
        "measured_s": float(samples.sum() / 1e3),
        **summarize(samples, batch),
        "timing": "host perf_counter around one synchronous call",
        **runner.run_extras(inputs, int(samples.size), request.plan.duration_s),
        "load_avg": {"before": load_before, "after": load_average()},
        "runtime_config": runner.config(),
        "samples_ms": [round(float(s), 5) for s in samples],
    }


def layer_section(runner: Runner, request: Request, batch: int | None) -> dict:
    from .graph_view import read_graph
    from .layers import aggregate

    inputs = input_batch(runner, batch)
    profile = runner.layer_times(inputs, request.layer_runs)
    graph_file = request.artifact.graph_file()
    try:
        nodes = read_graph(graph_file) if graph_file else None
        note = str(graph_file) if graph_file else "no ONNX/IR graph next to the artifact: roles not classified"
    except ImportError as exc:
        nodes, note = None, f"roles not classified: {exc.name} is not installed (pip install {exc.name})"
    return {"batch": len(inputs), **aggregate(profile, nodes, note)}


def profile(request: Request) -> dict:
    env = environment()
    env["load_avg_before"] = load_average()
    runs, layers = [], None
    for threads in request.threads:
        runner = load_runner(request.artifact.path, request.runtime, threads=threads, **request.options)
        runs += [timed_run(runner, batch, threads, request) for batch in request.batches]
        if request.per_layer and layers is None:
            layers = {"threads": threads, **layer_section(runner, request, request.batches[0])}
    env["load_avg_after"] = load_average()
    document = {
        "schema": SCHEMA,
        "tool": f"igcv-profile {__version__}",
        "created_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "artifact": request.artifact.describe(),
        "runtime": runner.name,
        "runtime_version": runner.version,
        "precision": runner.precision or request.artifact.precision or "as stored in the model",
        "options": request.options,
        "settings": {**request.plan.as_dict(), "unstable_cv": UNSTABLE_CV, "input": f"standard normal, seed {SEED}"},
        "environment": env,
        "runs": runs,
    }
    if layers is not None:
        document["layers"] = layers
    return document
