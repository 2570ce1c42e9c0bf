"""Accuracy budget: keep the most sensitive layers in float until INT8 loses at most X points everywhere."""

from __future__ import annotations

import sys


def fit_budget(
    evaluator, amax: dict[str, float], ranking: list[dict], quantized: list[str], max_drop: float, progress: bool = True
) -> tuple[list[str], dict, list[dict]]:
    """(node names kept in float, accuracy, search trace): the fewest top-ranked units in float that fit.

    The drop is checked in every runtime (onnxruntime, OpenVINO) from the same Q/DQ graph. It is close to
    monotonic in the number of float units, so the count is found by doubling and then bisection.
    """
    measured: dict[int, dict] = {}

    def accuracy(count: int) -> dict:
        if count not in measured:
            kept = _float_nodes(ranking, count)
            measured[count] = evaluator.accuracy(amax, [n for n in quantized if n not in kept])
            if progress:
                print(
                    f"accuracy budget: {count} unit(s) in float -> drop {measured[count]['drop_points']:.2f} points",
                    file=sys.stderr,
                )
        return measured[count]

    def fits(count: int) -> bool:
        return accuracy(count)["drop_points"] <= max_drop

    low, high = 0, 1
    if not fits(0):
        while high < len(ranking) and not fits(high):
            low, high = high, min(2 * high, len(ranking))
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (low, middle) if fits(middle) else (middle, high)
    count = 0 if fits(0) else high
    trace = [
        {"float_units": k, "drop_points": measured[k]["drop_points"], "runtimes": measured[k]["runtimes"]}
        for k in sorted(measured)
    ]
    return _float_nodes(ranking, count), accuracy(count), trace


def _float_nodes(ranking: list[dict], count: int) -> list[str]:
    return [node for entry in ranking[:count] for node in entry["nodes"]]
