"""--reuse keeps a bundle only when it is what this run would export: a tuned subject's plan is tuned again."""

from __future__ import annotations

import json

import run


def test_a_tuned_bundle_is_reused_only_with_the_plan_it_was_built_from(tmp_path, run_cli):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"*": "split"}))
    bundle = tmp_path / "tuned"
    extra = ("--imgsz", "32", "--lowering-plan", str(plan))
    code, _, err = run_cli("--model", "igcv3-0.25", "--target", "onnx", *extra, "--output", bundle)
    assert code == 0, err

    assert run.reusable(bundle, extra)
    plan.write_text(json.dumps({"*": "dense_projection"}))  # a later tuning chose differently
    assert not run.reusable(bundle, extra)
    assert run.reusable(bundle, ("--imgsz", "32"))  # an untuned subject: the kept bundle serves
    assert not run.reusable(tmp_path / "never-exported", ())
