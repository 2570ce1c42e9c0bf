"""benchmarks/paired.py: bundles timed side by side in one process, ratios to the first taken within each round."""

from __future__ import annotations

import paired
import pytest


def test_ratios_are_taken_within_each_round():
    # the machine got twice as slow in round 2: per-round ratios stay exact, ratios of medians would not
    ratios = paired.ratios_to_first({"base": [10.0, 20.0, 10.0], "other": [11.0, 22.0, 11.0]})
    assert ratios["base"]["ratio"] == 1.0 and ratios["base"]["iqr"] == [1.0, 1.0]
    assert ratios["other"]["ratio"] == pytest.approx(1.1) and ratios["other"]["iqr"] == pytest.approx([1.1, 1.1])
    assert ratios["other"]["p50_ms"] == 11.0


def test_two_bundles_side_by_side(tmp_path, run_cli, capsys):
    bundles = []
    for lowering in ("native", "split"):
        bundles.append(str(tmp_path / lowering))
        args = ("--model", "igcv3-0.25", "--imgsz", "32", "--lowering", lowering, "--output", bundles[-1])
        assert run_cli(*args)[0] == 0
    assert paired.main([*bundles, "--rounds", "3", "--seconds", "0.01"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith(f"| {tmp_path}")]
    assert [row.split(" | ")[0][2:] for row in rows] == bundles
    assert rows[0].endswith("| 1.000x (1.000-1.000) |")
    assert float(rows[1].split(" | ")[1]) > 0


def test_bench_paired_stage_groups_by_runtime_and_records_a_failed_group(tmp_path, run_cli):
    import run

    bundle = str(tmp_path / "igcv3")
    assert run_cli("--model", "igcv3-0.25", "--imgsz", "32", "--output", bundle)[0] == 0
    headline = {
        "igcv3@onnxruntime-fp32": (bundle, "onnxruntime", None),
        "igcv3-native@onnxruntime-fp32": (bundle, "onnxruntime", None),
        "igcv3@openvino-fp32-fp32": (tmp_path / "absent", "openvino", "fp32"),
    }
    results = {"missing": {}}
    stage = run.paired_stage(headline, run.SMOKE, results)
    assert (stage["rounds"], list(stage["samples"])) == (run.SMOKE.paired_rounds, ["onnxruntime"])
    group = stage["samples"]["onnxruntime"]
    assert list(group) == ["igcv3@onnxruntime-fp32", "igcv3-native@onnxruntime-fp32"]
    assert all(len(p50) == run.SMOKE.paired_rounds and min(p50) > 0 for p50 in group.values())
    assert "does not exist" in results["missing"]["paired timing on openvino"]
