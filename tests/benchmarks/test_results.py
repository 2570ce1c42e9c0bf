"""Results kept per ISA class, RESULTS.md with the classes side by side, and the goals computed from timings."""

from __future__ import annotations

import json
from pathlib import Path

import goals
import pytest
import results_md
import run
import store

from .conftest import machine, rounds, synthetic_run

ORT_FP32, OV_FP32, OV_INT8 = "onnxruntime-fp32", "openvino-fp32-fp32", "openvino-int8-default"


def onnxruntime_fp32(**p50_ms: tuple[float, ...]) -> dict[str, list[dict]]:
    """Timings on onnxruntime FP32, {subject with _ for -: round p50s}."""
    return {f"{subject.replace('_', '-')}@{ORT_FP32}": rounds(*ms) for subject, ms in p50_ms.items()}


def two_class_runs() -> tuple[dict, dict]:
    """IGCV3-D / MobileNetV2 on onnxruntime FP32: 1.20x on the AVX2 CPU, 1.50x on the AMX one."""
    avx2 = synthetic_run("x86-avx2", "AMD EPYC 7B13", onnxruntime_fp32(mobilenetv2=(10, 10, 10), igcv3=(12, 12, 12)))
    amx = synthetic_run(
        "x86-amx", "Intel Xeon Platinum 8480+", onnxruntime_fp32(mobilenetv2=(10, 10, 10), igcv3=(15, 15, 15))
    )
    return avx2, amx


def table_row(text: str, first_cell: str) -> list[str]:
    line = next(line for line in text.splitlines() if line.startswith(f"| {first_cell} |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_report_puts_each_class_side_by_side(tmp_path):
    for results in two_class_runs():
        store.save(results, tmp_path)
    assert run.main(["--render-only", "--out", str(tmp_path)]) == 0  # measures nothing
    text = (tmp_path / "RESULTS.md").read_text()
    overview = text.split("\n## x86 AVX2")[0]
    header = table_row(overview, "ratio")
    assert header[2:] == ["x86 AVX2 (`x86-avx2`): AMD EPYC 7B13", "x86 AMX (`x86-amx`): Intel Xeon Platinum 8480+"]
    row = table_row(overview, "IGCV3-D default / MNv2, onnxruntime FP32")
    assert row[1:] == ["≤ 1.25×", "1.20× (1.20–1.20)", "1.50× (1.50–1.50)"]
    assert "## x86 AVX2 (`x86-avx2`): AMD EPYC 7B13\n" in text
    assert "## x86 AMX (`x86-amx`): Intel Xeon Platinum 8480+\n" in text
    assert "- ISA class: x86 AMX (`x86-amx`)" in text
    assert {p.name for p in tmp_path.glob("*.png")} == {
        f"{kind}-{name}.png" for kind in ("latency", "ratios") for name in ("x86-avx2", "x86-amx")
    }


def test_a_run_adds_its_class_and_keeps_the_others(tmp_path, monkeypatch):
    avx2, amx = two_class_runs()
    store.save(avx2, tmp_path)
    monkeypatch.setattr(run, "measure", lambda args: amx)
    assert run.main(["--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in store.folder(tmp_path).iterdir()) == ["x86-amx.json", "x86-avx2.json"]
    rerun = synthetic_run("x86-avx2", "AMD EPYC 9654", {})
    assert store.save(rerun, tmp_path) == store.folder(tmp_path) / "x86-avx2.json"
    kept = store.load_all(tmp_path)
    assert list(kept) == ["x86-avx2", "x86-amx"]
    assert kept["x86-avx2"]["machine"]["cpu_model"] == "AMD EPYC 9654"
    assert kept["x86-amx"]["timings"] == amx["timings"]


def test_smoke_results_stay_out_of_benchmarks():
    args = run.parse(["--smoke"])
    assert store.folder(args.out) == Path("artifacts/bench-smoke/results")
    with pytest.raises(SystemExit):
        run.parse(["--smoke", "--out", str(run.HERE)])


def test_record_without_class_gets_it_from_its_flags(tmp_path):
    legacy = synthetic_run("x86-avx2", "AMD EPYC", {})
    del legacy["machine"]["isa_class"], legacy["machine"]["isa_label"]
    path = tmp_path / "legacy.json"
    path.write_text(json.dumps(legacy))
    loaded = store.load(path)["machine"]
    assert (loaded["isa_class"], loaded["isa_label"]) == ("x86-avx2", "x86 AVX2")
    vnni = machine("x86-avx2", "Intel Xeon Gold 6248", {"avx2": True, "avx512f": True, "avx512_vnni": True})
    del vnni["isa_class"]
    assert store.isa_class(vnni) == "x86-vnni"


@pytest.mark.parametrize(
    ("default_ms", "median", "low", "high", "met"),
    [((10.3, 10.0, 9.9), 1.00, 0.99, 1.03, "yes"), ((10.4, 10.4, 10.5), 1.04, 1.04, 1.05, "no")],
)
def test_default_export_within_3_percent_of_the_tuned_plan(default_ms, median, low, high, met):
    results = synthetic_run("x86-avx2", "AMD EPYC", onnxruntime_fp32(igcv3=default_ms, igcv3_tuned=(10, 10, 10)))
    setting = next(s for s in results_md.settings_of(results) if s.key == ORT_FP32)
    gap = goals.tuned_gap(results, setting)
    assert (gap["median"], gap["min"], gap["max"]) == pytest.approx((median, low, high), abs=1e-9)
    rows = results_md.tuned_rows(results, [setting])
    assert rows == [
        ["IGCV3-D default / plan tuned on the same CPU, onnxruntime FP32", "≤ 1.03×", results_md.fmt_ratio(gap), met]
    ]


@pytest.mark.parametrize(("isa_class", "threshold"), [("x86-amx", 1.8), ("arm-dotprod", 1.8), ("x86-avx2", 1.25)])
def test_int8_target_follows_the_isa_class(isa_class, threshold):
    """1.8x where INT8 dot products accumulate in int32; elsewhere MobileNetV2's speed-up (10 ms / 8 ms) here."""
    timings = {f"mobilenetv2@{OV_FP32}": rounds(10, 10, 10), f"mobilenetv2@{OV_INT8}": rounds(8, 8, 8)}
    assert goals.int8_target(synthetic_run(isa_class, "a CPU", timings)).threshold == pytest.approx(threshold)


def test_smoke_leaves_only_the_executorch_int8_variant_study_out():
    import matrix

    full, smoke = matrix.configs(run.FULL.study_left_out), matrix.configs(run.SMOKE.study_left_out)
    dropped = {matrix.config_key(s, t) for s, t in full} - {matrix.config_key(s, t) for s, t in smoke}
    variants = {s.key for s in matrix.VARIANT_STUDY}
    assert dropped == {f"{v}@executorch-int8" for v in variants}
    assert {f"{v}@executorch-fp32" for v in variants} <= {matrix.config_key(s, t) for s, t in smoke}
    assert {"igcv3@executorch-int8", "igcv3-native@executorch-int8"} <= {matrix.config_key(s, t) for s, t in smoke}


def test_ratios_come_from_the_paired_stage_where_both_sides_were_in_it():
    # process rounds say 1.50x for default / MNv2; the paired stage (the machine halved its speed in round 2) 1.20x
    timings = onnxruntime_fp32(mobilenetv2=(10, 10), igcv3=(15, 15), igcv3_tuned=(14, 14))
    results = synthetic_run("x86-avx2", "AMD EPYC", timings)
    group = {f"igcv3@{ORT_FP32}": [12.0, 24.0], f"mobilenetv2@{ORT_FP32}": [10.0, 20.0]}
    results["paired"] = {"rounds": 2, "seconds": 0.3, "samples": {"onnxruntime": group}}
    setting = next(s for s in results_md.settings_of(results) if s.key == ORT_FP32)
    pair = goals.ratio(results, "igcv3", "mobilenetv2", setting)
    assert (pair["median"], pair["iqr"], pair["method"]) == (pytest.approx(1.2), pytest.approx([1.2, 1.2]), "paired")
    tuned = goals.tuned_gap(results, setting)  # the tuned bundle was not in the paired stage: process rounds
    assert (tuned["median"], tuned["method"]) == (pytest.approx(15 / 14), "rounds")
    assert table_row(results_md.paired_section(results, [setting]), "onnxruntime FP32")[1:3] == [
        "15.00 (10.00–20.00)",
        "18.00 (12.00–24.00)",
    ]
