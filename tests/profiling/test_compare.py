"""igcv-profile compare: the table, report.md and its plots."""

from __future__ import annotations

import json

from igcv_deploy.profiling.cli import main

from .conftest import QUICK


def test_compare_report_with_plots(bundle, static_ir, tmp_path, capsys):
    results = {
        "ort": [bundle, "--per-layer", "--layer-runs", "2", "--batch-sweep", "1", "2"],
        "ov_f32": [static_ir, "--per-layer", "--layer-runs", "2"],
        "ov_default": [static_ir, "--precision", "default"],
    }
    for name, args in results.items():
        assert main([*map(str, args), *QUICK, "--output", str(tmp_path / f"{name}.json")]) == 0
    capsys.readouterr()
    report = tmp_path / "report"
    assert main(["compare", *(str(tmp_path / f"{n}.json") for n in results), "--report", str(report)]) == 0
    out = capsys.readouterr().out
    assert "ort b1" in out and "ov_default" in out and "permutation" in out
    text = (report / "report.md").read_text()
    for png in ("latency.png", "breakdown_roles.png", "breakdown_op_types.png", "batch.png"):
        assert f"]({png})" in text and (report / png).read_bytes()[:4] == b"\x89PNG", png
    assert "| ov_f32 |" in text and "expansion" in text and "load before" in text


def test_compare_rejects_foreign_json(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"hello": 1}))
    assert main(["compare", str(bad)]) == 1
    assert "is not an igcv-profile/1 result" in capsys.readouterr().err
