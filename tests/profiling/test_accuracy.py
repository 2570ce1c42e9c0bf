"""Accuracy of the harness: our p50 against benchmark_app and against onnxruntime's own timing.

The machine is shared, so runs alternate side by side (one configuration per process, order
rotated each round) and medians are compared with a generous tolerance; one retry absorbs a
burst of load. The measured ratios are printed (pytest -s) and recorded as test properties.
"""

from __future__ import annotations

import pytest

from igcv_deploy.profiling.crosscheck import onnxruntime_same_calls, openvino_same_calls, openvino_side_by_side

BENCHMARK_APP_TOLERANCE = 0.25  # |ours / benchmark_app - 1| on a shared 2-core machine
SAME_CALLS_TOLERANCE = 0.05  # same calls timed twice: only the harness's own overhead differs


def _within(measure, tolerance: float) -> dict:
    result = measure()
    if abs(result["ratio"] - 1) > tolerance:
        result = measure()  # one retry: a burst of load from the other workers
    return result


@pytest.mark.slow
def test_p50_matches_benchmark_app(static_ir, record_property):
    result = _within(
        lambda: openvino_side_by_side(static_ir, rounds=3, seconds=1, threads=None), BENCHMARK_APP_TOLERANCE
    )
    record_property("benchmark_app_ratio", result["ratio"])
    print(f"\nours / benchmark_app p50 = {result['ratio']:.3f} {result}")
    assert abs(result["ratio"] - 1) <= BENCHMARK_APP_TOLERANCE, result


@pytest.mark.slow
@pytest.mark.parametrize("runtime", ["onnxruntime", "openvino"])
def test_p50_matches_the_runtimes_own_timer_on_the_same_calls(runtime, bundle, static_ir, record_property):
    if runtime == "onnxruntime":  # the model_run durations of its profiler
        result = _within(
            lambda: onnxruntime_same_calls(bundle / "model.onnx", iterations=40, threads=2), SAME_CALLS_TOLERANCE
        )
    else:  # InferRequest.latency, what benchmark_app reports
        result = _within(lambda: openvino_same_calls(static_ir, iterations=40, threads=2), SAME_CALLS_TOLERANCE)
    record_property(f"{runtime}_same_calls_ratio", result["ratio"])
    print(f"\nours / {runtime}'s own timer, same calls: p50 ratio {result['ratio']:.4f} {result}")
    assert abs(result["ratio"] - 1) <= SAME_CALLS_TOLERANCE, result
