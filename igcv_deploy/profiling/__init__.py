"""On-device latency harness and profiler: one result schema for every runtime.

  harness   configurations -> timed runs -> result document (schema SCHEMA)
  timing    the warm-up + timed loop; stats: percentiles, cv, unstable flag (numpy only)
  runners   igcv_deploy.runtimes: onnxruntime, OpenVINO, TensorRT (CUDA events), PyTorch eager (bundles only)
  graph, roles, layers   per-layer times mapped to ONNX/IR nodes and IGCV roles
  report, plots          `igcv-profile compare`: rich table, report.md, PNG plots

Imports no torch: only `--runtime torch` loads it. See docs/profiling.md.
"""

from .harness import SCHEMA, Request, profile
from .stats import UNSTABLE_CV, summarize
from .timing import Plan, measure

__all__ = ["SCHEMA", "UNSTABLE_CV", "Plan", "Request", "measure", "profile", "summarize"]
