"""Bad input and interruptions: one clear line, a non-zero exit, nothing half-written."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from igcv_deploy.models import create_model

SMALL = ("--model", "igcv3-0.25", "--imgsz", "64")


def one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 1, err
    progress = ("warning:", "note:", "✓")
    lines = [
        ln
        for ln in err.replace("\r", "\n").splitlines()
        if ln.strip() and not ln.startswith(progress) and "%|" not in ln
    ]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


class ExecutesCode:
    def __reduce__(self):
        return (os.system, ("echo pwned > pwned.txt",))


def test_missing_weights(workdir, run_cli):
    one_line_error(*run_cli(*SMALL, "--weights", "nope.pt")[::2], "not found")


def test_unreadable_weights(workdir, run_cli):
    """A path that cannot be read as a file (permissions do not stop root, which CI runs as)."""
    (workdir / "w.pt").mkdir()
    one_line_error(*run_cli(*SMALL, "--weights", workdir / "w.pt")[::2], "w.pt")


def test_truncated_checkpoint(workdir, run_cli):
    path = workdir / "w.pt"
    torch.save(create_model("igcv3-0.25").state_dict(), path)
    path.write_bytes(path.read_bytes()[:5000])
    one_line_error(*run_cli(*SMALL, "--weights", path)[::2], "w.pt")


def test_checkpoint_of_another_model_lists_offenders(workdir, run_cli):
    path = workdir / "other.pt"
    torch.save(create_model("igcv3-0.5").state_dict(), path)
    code, _, err = run_cli(*SMALL, "--weights", path)
    one_line_error(code, err, "does not fit model 'igcv3-0.25'")


def test_code_executing_pickle_is_refused(workdir, run_cli):
    path = workdir / "evil.pt"
    path.write_bytes(pickle.dumps({"stem.0.weight": ExecutesCode()}))
    code, _, err = run_cli(*SMALL, "--weights", path)
    assert code == 1 and "Traceback" not in err
    assert not (workdir / "pwned.txt").exists()


@pytest.mark.parametrize("content", ["empty", "not-images"])
def test_bad_calibration_folder(workdir, run_cli, content):
    folder = workdir / "calib"
    folder.mkdir()
    if content == "not-images":
        (folder / "a.jpg").write_text("this is not a jpeg")
    code, _, err = run_cli(*SMALL, "--target", "openvino", "--precision", "int8", "--calib-data", folder)
    one_line_error(code, err, "calib")
    assert not (workdir / "artifacts").exists() or not any((workdir / "artifacts").iterdir())


def test_unwritable_output(workdir, run_cli):
    blocker = workdir / "file"
    blocker.write_text("a file, not a folder")
    one_line_error(*run_cli(*SMALL, "--output", blocker / "bundle")[::2], "cannot write")


def test_output_on_a_virtual_filesystem(workdir, run_cli):
    """/proc takes no new folders: the OS reason, not a FileNotFoundError to report, and nothing left behind."""
    code, _, err = run_cli(*SMALL, "--output", "/proc/x")
    one_line_error(code, err, "cannot write to '/proc/x'", "choose a writable --output folder")
    assert not Path("/proc/x").exists() and not list(workdir.iterdir())


def test_missing_optional_backend_says_what_to_install(tmp_path):
    fake = tmp_path / "fake" / "openvino"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('simulated: openvino is not installed')\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "fake")}
    result = subprocess.run(
        [sys.executable, "-m", "igcv_deploy.cli", *SMALL, "--target", "openvino"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    one_line_error(result.returncode, result.stderr, "openvino", "pip install 'igcv-deploy[openvino]'")


EXPORT = [sys.executable, "-m", "igcv_deploy.cli", *SMALL, "--output", "bundle"]


def _start_export(cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(EXPORT, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wait_for_staging(cwd: Path, process: subprocess.Popen) -> None:
    deadline = time.time() + 300
    while not list(cwd.glob(".bundle.partial-*")):
        assert process.poll() is None and time.time() < deadline, "export ended before staging began"
        time.sleep(0.05)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_interrupted_export_leaves_no_bundle(tmp_path, sig):
    process = _start_export(tmp_path)
    _wait_for_staging(tmp_path, process)
    process.send_signal(sig)
    _, err = process.communicate(timeout=120)
    assert process.returncode != 0
    assert not (tmp_path / "bundle").exists()
    if sig == signal.SIGINT:
        assert "interrupted" in err
        assert not list(tmp_path.glob(".bundle.partial-*"))
    else:  # the killed process could not clean up; the next export of the same bundle does
        assert list(tmp_path.glob(".bundle.partial-*"))
        assert subprocess.run(EXPORT, cwd=tmp_path, capture_output=True).returncode == 0
        assert (tmp_path / "bundle" / "manifest.json").is_file()
        assert not list(tmp_path.glob(".bundle.partial-*"))


@pytest.fixture(scope="module")
def tampered_bundle(tmp_path_factory):
    from igcv_deploy.cli import main

    bundle = tmp_path_factory.mktemp("tamper") / "bundle"
    assert main([*SMALL, "--output", str(bundle)]) == 0
    with open(bundle / "model.onnx", "ab") as handle:
        handle.write(b"\0")
    return bundle


def test_profiler_refuses_tampered_bundle(tampered_bundle, capsys):
    from igcv_deploy.profiling.cli import main

    code = main([str(tampered_bundle)])
    one_line_error(code, capsys.readouterr().err, "model.onnx", "sha256")


def test_profiler_rejects_corrupt_onnx(tmp_path, capsys):
    from igcv_deploy.profiling.cli import main

    model = tmp_path / "broken.onnx"
    model.write_bytes(b"definitely not protobuf")
    one_line_error(main([str(model)]), capsys.readouterr().err, "broken.onnx")


def test_an_interrupt_a_library_swallows_still_counts():
    """Ctrl-C caught by third-party code must not let a command finish as a success (own process: it signals itself)."""
    script = """
import os, signal, sys, time
from igcv_deploy.errors import run_guarded

def swallowing_command(argv):
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
    except KeyboardInterrupt:
        pass
    return 0

sys.exit(run_guarded(swallowing_command, []))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 130 and result.stderr.strip() == "error: interrupted"
