"""`igcv-profile device setup/info --on` against the test sshd; refusals of bad device names, keys and hosts."""

from __future__ import annotations

import json

from igcv_deploy.profiling.cli import main


def test_setup_made_a_torch_free_environment(sshd, device, capsys, tmp_path):
    assert main(["device", "info", *sshd.args(), "--json"]) == 0
    out = capsys.readouterr()
    assert "[testdev] python: " in out.err and "runtimes: onnxruntime" in out.err
    venv = sshd.cache / "igcv-deploy" / "venv"
    site = next(venv.glob("lib/python3*/site-packages"))
    assert (site / "igcv_deploy").is_dir() and (site / "onnxruntime").is_dir()
    assert not (site / "torch").exists(), "the device environment must not hold torch"
    print(f"device setup took {device['setup_s']:.1f} s")


def test_info_reports_the_device(sshd, device, tmp_path):
    assert main(["device", "info", *sshd.args(), "--output", str(tmp_path / "info.json")]) == 0
    info = json.loads((tmp_path / "info.json").read_text())
    assert info["runtimes"]["onnxruntime"] and info["runtimes"]["torch"] is None
    assert info["cache"] == str(sshd.cache / "igcv-deploy") and info["isa_class"] and info["cores"] >= 1
