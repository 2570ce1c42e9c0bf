"""On a bf16 CPU OpenVINO runs an FP32 IR in bf16 by default: the export says so on stderr, with the figure."""

from __future__ import annotations

from ..conftest import read_manifest


def test_the_default_precision_is_said_when_it_is_not_f32(workdir, run_cli):
    code, _, err = run_cli("--model", "igcv3-0.25", "--imgsz", "64", "--target", "openvino", "--output", workdir / "b")
    assert code == 0, err
    parity = read_manifest(workdir / "b")["openvino"]["default_precision_parity"]
    notes = [line for line in err.splitlines() if line.startswith("note: OpenVINO's CPU plugin runs this FP32 IR")]
    if parity["execution_precision"] in ("f32", None):  # an AVX2/AVX-512 CPU without bf16
        assert not notes
    else:  # this project's Emerald Rapids host and the Zen 5: bf16
        (note,) = notes
        assert f"in {parity['execution_precision']} by default" in note and f"{parity['max_rel_err']:.1e}" in note
