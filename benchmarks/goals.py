"""The goals the benchmark judges (docs/performance.md) and the ratios it judges them by.

Shared by the RESULTS.md writer (results_md.py) and the plots (plots.py); imports neither.
"""

from __future__ import annotations

import matrix
import timing

GOAL_RATIO = 1.04  # IGCV3-D / MobileNetV2 latency, every CPU runtime and precision
GOAL_PERM = 1.02  # IGCV3-D / its no-permutation control: the permutations' overhead
GOAL_INT8 = 1.8  # OpenVINO INT8 speed-up over FP32
GOAL_EXPORT_S = 60.0  # `igcv-export --model igcv3 --target openvino --precision int8`, end to end

RATIO_COLUMNS = {  # header: (numerator, denominator)
    "IGCV3-D default / MNv2": ("igcv3", "mobilenetv2"),
    "tuned plan / MNv2": ("igcv3-tuned", "mobilenetv2"),
    "folding only / MNv2": ("igcv3-native", "mobilenetv2"),
    "no-perm control / MNv2": ("igcv3-noperm", "mobilenetv2"),
    "perm. overhead: default / no-perm": ("igcv3", "igcv3-noperm"),
    "folding only / no-perm": ("igcv3-native", "igcv3-noperm"),
}


def ratio(results: dict, a: str, b: str, setting_a, setting_b=None) -> dict | None:
    """Latency of subject `a` over subject `b`, per round (None where either was not timed)."""
    t = results["timings"]
    ka = matrix.config_key(matrix.SUBJECT[a], setting_a)
    kb = matrix.config_key(matrix.SUBJECT[b], setting_b or setting_a)
    return timing.ratio(t[ka], t[kb]) if t.get(ka) and t.get(kb) else None
