"""`igcv-profile BUNDLE --on`: same schema as a local run, the bundle cache, a fleet with a device down,
tampered bundles, timeouts that leave nothing running on the device."""

from __future__ import annotations

import json
import shutil
import time

from igcv_deploy.bundle import MANIFEST, Bundle
from igcv_deploy.profiling.cli import main
from igcv_deploy.remote.bundles import bundle_key
from tests.profiling.conftest import QUICK, assert_schema
from tests.remote.conftest import Watcher, free_port, remote_processes


def cached_copy(sshd, bundle):
    """The device's cached copy of a bundle."""
    return sshd.cache / "igcv-deploy" / "bundles" / bundle_key(Bundle.load(bundle))


def profile(capsys, *args) -> tuple[int, str]:
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def test_profile_on_the_device_then_from_its_cache(sshd, device, small_bundle, tmp_path, capsys):
    code, err = profile(capsys, small_bundle, *QUICK, *sshd.args(), "--output", tmp_path / "r.json")
    assert code == 0, err
    document = json.loads((tmp_path / "r.json").read_text())
    assert_schema(document)
    assert document["device"] == "testdev" and document["runtime"] == "onnxruntime"
    assert "onnxruntime" in document["runtime_version"] or document["runtime_version"]
    cached = cached_copy(sshd, small_bundle)
    copied_at = cached.stat().st_ctime_ns
    code, err = profile(capsys, small_bundle, *QUICK, *sshd.args(), "--output", tmp_path / "again.json")
    assert code == 0, err
    assert "[testdev] bundle: cached on the device" in err and "sent" not in err
    assert cached.stat().st_ctime_ns == copied_at


def test_fleet_with_one_device_down(sshd, device, small_bundle, tmp_path, capsys):
    down = f"ssh://root@127.0.0.1:{free_port()}"  # nothing listens there
    code, err = profile(capsys, small_bundle, *QUICK, *sshd.args("testdev", down), "--output", tmp_path / "fleet")
    assert code == 3, err
    status = json.loads((tmp_path / "fleet" / "fleet.json").read_text())
    assert status["testdev"] == {"status": "ok", "result": "testdev.json"}
    assert status[down]["status"] == "failed" and "Connection refused" in status[down]["reason"]
    assert json.loads((tmp_path / "fleet" / "testdev.json").read_text())["device"] == "testdev"
    assert len(list((tmp_path / "fleet").iterdir())) == 2


def test_a_missing_runtime_on_the_device_is_named(sshd, device, small_bundle, tmp_path, capsys):
    code, err = profile(capsys, small_bundle, "--runtime", "openvino", *QUICK, *sshd.args(), "--output", tmp_path / "r")
    assert code == 1
    assert "error: testdev: the optional backend 'openvino' is not installed" in err
    assert not (tmp_path / "r").exists()


def test_a_tampered_bundle_is_refused_here_and_there(sshd, device, small_bundle, tmp_path, capsys):
    tampered = shutil.copytree(small_bundle, tmp_path / "tampered")
    with open(tampered / "model.onnx", "ab") as handle:
        handle.write(b"\0")
    code, err = profile(capsys, tampered, *QUICK, *sshd.args())
    assert code == 1 and "'model.onnx' does not match its manifest sha256" in err and "connecting" not in err
    # the same bundle tampered with in the device's cache is refused by the device's igcv-profile
    fresh = shutil.copytree(small_bundle, tmp_path / "fresh")
    manifest = json.loads((fresh / MANIFEST).read_text())
    (fresh / MANIFEST).write_text(json.dumps({**manifest, "note": "another bundle"}))
    assert profile(capsys, fresh, *QUICK, *sshd.args())[0] == 0
    cached = cached_copy(sshd, fresh)
    with open(cached / "model.onnx", "ab") as handle:
        handle.write(b"\0")
    code, err = profile(capsys, fresh, *QUICK, *sshd.args())
    assert code == 1 and "error: testdev: bundle file 'model.onnx' does not match its manifest sha256" in err


def test_a_timeout_stops_the_remote_process(sshd, device, small_bundle, capsys):
    slow = ["--warmup-time", "0", "--iterations", "5", "--duration", "120", "--quiet"]
    started = time.monotonic()
    with Watcher(sshd) as watcher:
        code, err = profile(capsys, small_bundle, *slow, *sshd.args(), "--timeout", "8")
    assert code == 1 and "error: testdev: timed out after 8 s" in err
    assert time.monotonic() - started < 60, "the timeout did not end the run"
    assert watcher.seen, "the profile never ran on the device"
    assert remote_processes(sshd) == []
