"""The goals the benchmark judges (docs/performance.md) and the ratios it judges them by.

Shared by the RESULTS.md writer (results_md.py) and the plots (plots.py); imports neither.
"""

from __future__ import annotations

from typing import NamedTuple

import matrix
import numpy as np
import timing

from igcv_deploy.isa import CLASS

GOAL_RATIO = 1.25  # IGCV3-D default / MobileNetV2 latency, on the GOAL_RATIO_RUNTIMES at FP32 and INT8
GOAL_RATIO_RUNTIMES = ("onnxruntime", "openvino")
GOAL_PERM = 1.02  # IGCV3-D / its no-permutation control: the permutations' overhead
GOAL_TUNED = 1.03  # IGCV3-D default export / the plan `igcv-profile tune` measured on the same CPU
GOAL_INT8 = 1.8  # OpenVINO INT8 speed-up over FP32 on CPUs whose INT8 dot products accumulate in int32
GOAL_EXPORT_S = 60.0  # `igcv-export --model igcv3 --target openvino --precision int8`, end to end

OPENVINO_FP32, OPENVINO_INT8 = "openvino-fp32-fp32", "openvino-int8-default"  # the settings of the INT8 speed-up

RATIO_COLUMNS = {  # header: (numerator, denominator)
    "IGCV3-D default / MNv2": ("igcv3", "mobilenetv2"),
    "tuned plan / MNv2": ("igcv3-tuned", "mobilenetv2"),
    "folding only / MNv2": ("igcv3-native", "mobilenetv2"),
    "no-perm control / MNv2": ("igcv3-noperm", "mobilenetv2"),
    "perm. overhead: default / no-perm": ("igcv3", "igcv3-noperm"),
    "folding only / no-perm": ("igcv3-native", "igcv3-noperm"),
}


class Int8Target(NamedTuple):
    threshold: float | None  # None: MobileNetV2's speed-up, the reference, was not measured
    reason: str


def ratio(results: dict, a: str, b: str, setting_a, setting_b=None) -> dict | None:
    """Latency of subject `a` over subject `b`, per round: from the paired stage where both were timed in one
    process (run.paired_stage), else from the rotated process rounds; None where either was not timed."""
    ka = matrix.config_key(matrix.SUBJECT[a], setting_a)
    kb = matrix.config_key(matrix.SUBJECT[b], setting_b or setting_a)
    for group in results.get("paired", {}).get("samples", {}).values():
        if ka in group and kb in group:
            return timing.spread(np.array(group[ka]) / np.array(group[kb]), "paired")
    t = results["timings"]
    return timing.ratio(t[ka], t[kb]) if t.get(ka) and t.get(kb) else None


def tuned_gap(results: dict, setting) -> dict | None:
    """IGCV3-D as exported by default over IGCV3-D exported with the plan tuned on the same CPU."""
    return ratio(results, "igcv3", "igcv3-tuned", setting)


def int8_speedup(results: dict, subject: str) -> dict | None:
    """OpenVINO FP32 (fp32 hint) latency over OpenVINO INT8 latency of `subject`, per round."""
    by_key = {s.key: s for s in matrix.settings()}
    return ratio(results, subject, subject, by_key[OPENVINO_FP32], by_key[OPENVINO_INT8])


def int8_target(results: dict) -> Int8Target:
    """The OpenVINO INT8 speed-up IGCV3-D must reach on the run's ISA class: GOAL_INT8 where INT8 dot products
    accumulate in int32 (VNNI, AMX, ARM dotprod); elsewhere INT8 gains little for any model, so MobileNetV2's own
    speed-up, measured in the same run."""
    isa = CLASS[results["machine"]["isa_class"]]
    if isa.int8_dot:
        return Int8Target(GOAL_INT8, f"{isa.label}: int8 dot products")
    reference = int8_speedup(results, "mobilenetv2")
    return Int8Target(reference and reference["median"], f"{isa.label}: no int8 dot products, MobileNetV2's gain")


def ratio_goal_applies(setting) -> bool:
    return setting.runtime in GOAL_RATIO_RUNTIMES
